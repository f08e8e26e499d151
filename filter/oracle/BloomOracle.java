import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;

// Test oracle for filter/src/bloom: k, m and bit positions as RocketMQ 4.9.8's BloomFilter
// defines them (formulas restated, hashing by the real Guava murmur3_128).
public class BloomOracle {
    static double logMN(double m, double n) { return Math.log(n) / Math.log(m); }
    static int k(int f) { return (int) Math.ceil(logMN(0.5, f / 100.0)); }
    static int m(int f, int n) {
        double e = f / 100.0;
        int m = (int) Math.ceil(n * logMN(2, 1 / e) * logMN(2, Math.E));
        return (int) (8 * Math.ceil(m / 8.0));
    }
    static String pos(String s, int k, int m) {
        long h = Hashing.murmur3_128().hashString(s, StandardCharsets.UTF_8).asLong();
        int h1 = (int) h, h2 = (int) (h >>> 32);
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= k; i++) {
            int c = h1 + i * h2;
            if (c < 0) c = ~c;
            sb.append(i > 1 ? ", " : "").append(c % m);
        }
        return String.format("0x%016x [%s]", h, sb);
    }
    public static void main(String[] a) {
        StringBuilder ks = new StringBuilder();
        for (int f = 1; f < 100; f++) ks.append(k(f)).append(f % 20 == 0 ? ",\n" : ", ");
        System.out.println("K 1..99: " + ks);
        int[] ns = {1, 7, 20, 32, 64, 100, 1000};
        for (int n : ns) {
            StringBuilder ms = new StringBuilder();
            for (int f = 1; f < 100; f++) ms.append(m(f, n)).append(f % 20 == 0 ? ",\n" : ", ");
            System.out.println("M n=" + n + ": " + ms);
        }
        String[] strs = {"", "hell", "CID_abc_efg", "CID_abc_123", "The quick brown fox jumps over the lazy dog",
            "GID_sql#TopicTest", "消费组#主题", "a", "0123456789abcdef", "0123456789abcdef0"};
        int[][] fns = {{20, 32}, {10, 20}, {20, 64}, {1, 1000}};
        for (int[] fn : fns) {
            int k = k(fn[0]), m = m(fn[0], fn[1]);
            System.out.println("FILTER f=" + fn[0] + " n=" + fn[1] + " k=" + k + " m=" + m);
            for (String s : strs) System.out.println("  \"" + s + "\" " + pos(s, k, m));
        }
    }
}

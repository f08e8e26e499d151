//! The grammar and evaluation table: selector × message properties → Java's result.
//!
//! Rows come from Java's own tests in the `filter` module (ExpressionTest, ParserTest of 4.9.8
//! and 5.3.3, marked `java:`) and from Java's classes read rule by rule (SelectorParser.jj,
//! ComparisonExpression, UnaryExpression, LogicExpression, ConstantExpression).
//!
//! Row format: `selector | properties | expected`. Properties are `name=value` pairs split by
//! `;` (`-` for none). Expected: `T` (TRUE), `F` (FALSE), `U` (null), `E` (Java throws while
//! evaluating), or `!text`: the selector is refused and the error text starts with `text`.

use std::collections::HashMap;

use filter::sql92::{Expression, Outcome};

const ROWS: &str = r#"
# ---- java: ExpressionTest (5.3.3) ----
a=3 and b<>4 And c>5 AND d<=4 | a=3;b=5;c=6;d=1 | T
a=3 and b<>4 And c>5 AND d<=4 | a=4;b=5;c=6;d=1 | F
a=3 or b<>4 Or c>5 OR d<=4 | a=3 | T
a=3 or b<>4 Or c>5 OR d<=4 | a=4;b=5 | T
a=3 or b<>4 Or c>5 OR d<=4 | a=4;b=4;c=6 | T
a=3 or b<>4 Or c>5 OR d<=4 | a=4;b=4;c=3;d=2 | T
a=3 or b<>4 Or c>5 OR d<=4 | a=4;b=4;c=3;d=10 | F
a in ('3', '4', '5') | a=3 | T
a in ('3', '4', '5') | a=4 | T
a in ('3', '4', '5') | a=5 | T
a in ('3', '4', '5') | a=8 | F
a not in ('3', '4', '5') | a=8 | T
a not in ('3', '4', '5') | a=3 | F
a not in ('3', '4', '5') | a=5 | F
a between 2 and 10 | a=2 | T
a between 2 and 10 | a=10 | T
a between 2 and 10 | a=3 | T
a between 2 and 10 | a=1 | F
a between 2 and 10 | a=11 | F
a not between 2 and 10 | a=1 | T
a not between 2 and 10 | a=11 | T
a not between 2 and 10 | a=2 | F
a not between 2 and 10 | a=10 | F
a not between 2 and 10 | a=3 | F
a is null | abc=2 | T
a is null | a=2 | F
a is not null | a=2 | T
a is not null | abc=2 | F
a is not null and a='hello' | a=hello | T
a is not null and a='hello' | - | F
a=TRUE OR b=FALSE | a=true;b=false | T
a=TRUE OR b=FALSE | a=false;b=true | F
a is null OR a='hello' | - | T
a is null OR a='hello' | a=hello | T
a is null OR a='hello' | a=abc | F
TAGS is not null and TAGS='''''tag''''' | TAGS=''tag'' | T
a > 3.1E10 | a=3.1415E10 | T
a > 3.14 | a=3.1415 | T
a > b | a=10;b=20 | F
a > b | a=20;b=10 | T
a between up and low | a=3.14 | U
a between up and low | a=3.14;up=up;low=low | E
key is not null and key between 0 and 100 | key=con | E
a between 0 and 100 | a=abc | E
a=b | a=3.14;b=3.14 | T
a<>b | a=3.14;b=3.14 | F
a<>b | a=3.14;b=3.141 | T
value contains 'x' | value=axb | T
value startswith 'ax' | value=axb | T
value endswith 'xb' | value=axb | T
value not contains 'x' | value=axb | F
value not startswith 'ax' | value=axb | F
value not endswith 'xb' | value=axb | F
value contains 'x' | value=abb | F
value startswith 'x' | value=abb | F
value endswith 'x' | value=abb | F
value not contains 'x' | value=abb | T
value not startswith 'x' | value=abb | T
value not endswith 'x' | value=abb | T
value contains '' | value=axb | F
value startswith '' | value=axb | F
value endswith '' | value=axb | F
value not contains '' | value=axb | F
value not startswith '' | value=axb | F
value not endswith '' | value=axb | F
value contains 'x' | - | F
value startswith 'x' | - | F
value endswith 'x' | - | F
value not contains 'x' | - | F
value not startswith 'x' | - | F
value not endswith 'x' | - | F
value contains x | value=axb | !org.apache.rocketmq.filter.parser.ParseException: Encountered " <ID> "x "" at line 1, column 16.
value not contains x | value=axb | !org.apache.rocketmq.filter.parser.ParseException: Encountered " <ID> "x "" at line 1, column 20.
value contains 123 | value=axb | !org.apache.rocketmq.filter.parser.ParseException: Encountered " <DECIMAL_LITERAL> "123 "" at line 1, column 16.
value not contains 123 | value=axb | !org.apache.rocketmq.filter.parser.ParseException: Encountered " <DECIMAL_LITERAL> "123 "" at line 1, column 20.
'axb' contains 'x' | whatever=whatever | T
'axb' startswith 'ax' | whatever=whatever | T
'axb' endswith 'xb' | whatever=whatever | T
'axb' not contains 'x' | - | F
'axb' not startswith 'ax' | - | F
'axb' not endswith 'xb' | - | F
'axb' contains 'u' | - | F
'axb' startswith 'u' | - | F
'axb' endswith 'u' | - | F
'axb' not contains 'u' | - | T
'axb' not startswith 'u' | - | T
'axb' not endswith 'u' | - | T
'axb' contains '' | - | F
'axb' not contains '' | - | F
' ' contains ' ' | - | T
' ' startswith ' ' | - | T
' ' endswith ' ' | - | T
' ' not contains ' ' | - | F
' ' not startswith ' ' | - | F
' ' not endswith ' ' | - | F
'axb' contains  | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 15.\nWas expecting:\n    <STRING_LITERAL> ...\n    
'axb' not contains  | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 19.
'axb' contains '.' | - | F
'axb' startswith '.' | - | F
'axb' endswith '.' | - | F
'axb' not contains '.' | - | T
's' contains '\' | - | F
's' startswith '\' | - | F
's' endswith '\' | - | F
a not in ('4', '4', '5') and b between 3 and 10 and c not contains 'axbc' | a=3;b=3;c=axbdc | T
a not in ('4', '4', '5') and b between 3 and 10 and c not startswith 'axbc' | a=3;b=3;c=axbdc | T
a not in ('4', '4', '5') and b between 3 and 10 and c not endswith 'axbc' | a=3;b=3;c=axbdc | T
# ---- java: ParserTest ----
a=3  and    b<>4 And c>5 AND d<=4 | a=3;b=5;c=6;d=1 | T
(a not in ('6', '4', '5')) or (b in ('3', '4', '5')) | a=7 | T
(a between 2 and 10) AND (b not between 6 and 9) | a=5;b=10 | T
(a between 2 and 10) AND (b not between 6 and 9) | a=5;b=7 | F
a <= now | a=1;now=2 | T
a=3 and b contains 'xxx' and c not contains 'xxx' | a=3;b=1xxx2;c=xx | T
a and between 2 and 10 | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " "BETWEEN" "between "" at line 1, column 7.
 a between 10 and 0 | - | !java.lang.RuntimeException: Illegal values of between, left value(10) must less than or equal to right value(0)
a > 100000000000000000000000 | - | !java.lang.NumberFormatException: For input string: "100000000000000000000000"
# ---- literals ----
a = 1 | a=1 | T
a = 1 | a=01 | T
a = 1 | a=+1 | T
a = 1 | a=1.0 | E
a = 1 | a= 1 | E
a = 1 | a=x | E
a = 1 | - | U
a = 1L | a=1 | T
a = 1l | a=1 | T
a = 2147483648 | a=2147483648 | T
a > 1 | a=2147483648 | E
a > 2147483647 | a=2147483648 | E
a > 2147483648 | a=2147483649 | T
a > 2147483648 | a=9223372036854775807 | T
a > 2147483648 | a=9223372036854775808 | E
a = 9223372036854775807 | a=9223372036854775807 | T
a = 9223372036854775808 | - | !java.lang.NumberFormatException: For input string: "9223372036854775808"
a = 99L | a=99 | T
a = 0 | a=0 | T
a = 0 | a=-0 | T
a = 1.5 | a=1.5 | T
a = 1.5 | a=1.50 | T
a = 1.5 | a= 1.5  | T
a = 1.5 | a=1.5f | T
a = 1.5 | a=1.5d | T
a = 1.5 | a=0x1.8p0 | T
a = 1.5 | a=abc | E
a = 1. | a=1 | T
a = .5 | a=0.5 | T
a = 5E2 | a=500 | T
a = 5e+2 | a=500 | T
a = 5.e-1 | a=0.5 | T
a > 1.0 | a=NaN | T
a < 1.0 | a=NaN | F
a > 1.0 | a=Infinity | T
a < 1.0 | a=-Infinity | T
a > 0.5 | a=1e400 | T
a = 0.0 | - | !java.lang.RuntimeException: 0.0 is less than 4.9E-324
a = .0 | - | !java.lang.RuntimeException: .0 is less than 4.9E-324
a = 1e-400 | - | !java.lang.RuntimeException: 1e-400 is less than 4.9E-324
a = 1e400 | - | !java.lang.RuntimeException: 1e400 is greater than 1.7976931348623157E308
a = 4.9E-324 | a=4.9E-324 | T
a = 'x' | a=x | T
a = 'x' | a=X | F
a = 'x' | - | U
a = '' | a= | T
a = 'it''s' | a=it's | T
a = '''' | a=' | T
a = 'a b' | a=a b | T
a = '中文' | a=中文 | T
a = 'x' | a=y | F
a = 'x' OR TRUE | - | T
TRUE | - | T
FALSE | - | F
NULL | - | U
true | - | T
tRuE | - | T
a | a=true | F
a | - | U
NOT a | a=true | T
NOT a | - | U
# ---- case and names ----
A = 1 | a=1 | U
A = 1 | A=1 | T
a = 1 AnD b = 2 | a=1;b=2 | T
a IS NOT NULL | a=x | T
a iS nOt NuLl | a=x | T
_x = 1 | _x=1 | T
$x = 1 | $x=1 | T
x1_$ = 1 | x1_$=1 | T
nota = 1 | nota=1 | T
ina = 1 | ina=1 | T
isnull = 1 | isnull=1 | T
ANDY = 1 | ANDY=1 | T
now = 1 | now=1 | T
a LIKE 'x' | a=x | F
a = 1 b = 2 | a=1 | T
a = 1 ) | a=1 | T
a = 1 # | a=1 | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 8.  Encountered: <EOF> after : ""
# ---- comparisons and conversions ----
a > 1 | a=2 | T
a > 1 | a=1 | F
a >= 1 | a=1 | T
a < 1 | a=0 | T
a <= 1 | a=1 | T
a <= 1 | a=2 | F
a > 1 | - | U
1 < a | a=2 | T
1 < a | a=x | E
1 = a | a=1 | T
1.5 < a | a=2 | T
a > -1 | a=0 | T
a > -1 | a=-2 | F
a = -1 | a=-1 | T
a = - 1 | a=-1 | T
a = --1 | a=1 | T
a = +1 | a=1 | T
a = + + 1 | a=1 | T
-a = -1 | a=1 | U
a > 1.5 | a=2 | T
a > 1.5 | a=1.5 | F
a > b | a=2;b=1 | T
a > b | a=x;b=1 | E
a > b | a=2 | U
a > b | b=2 | U
a >= b | a=1.0;b=1 | T
a = b | a=1.0;b=1 | F
a = b | a=x;b=x | T
a = b | - | T
a = b | b=1 | U
a = b | a=1 | F
a <> b | - | F
a <> b | b=1 | U
a <> b | a=1 | T
a <> 'x' | - | U
a <> 'x' | a=y | T
a <> 1 | a=x | E
a = TRUE | a=true | T
a = TRUE | a=TRUE | T
a = TRUE | a=yes | F
a = FALSE | a=yes | T
TRUE = a | a=true | E
TRUE = TRUE | - | T
TRUE = FALSE | - | F
1 = 1 | - | T
1 = 1.0 | - | T
1 = 2 | - | F
1 = 1L | - | T
2147483648 = 2147483648.0 | - | T
'1' = 1 | - | T
1 = '1' | - | T
1 = 'x' | - | E
'a' = 'a' | - | T
1 = TRUE | - | F
'true' = TRUE | - | T
(a > 1) = TRUE | a=2 | T
(a > 1) = TRUE | a=0 | F
(a > 1) = TRUE | - | U
(a > 1) = 'true' | a=2 | E
'true' = (a > 1) | a=2 | T
(a > 1) = 1 | a=2 | F
(a > 1) = (b > 1) | a=2;b=3 | T
NOT a = 1 | a=1 | F
NOT a = 1 | - | U
NOT (a = 1) | a=1 | F
NOT (a = 1) | a=2 | T
NOT (a = 1) | - | U
a = 1 = TRUE | a=1 | T
a IS NULL IS NULL | a=1 | F
a IS NULL = TRUE | - | T
a = 1 IS NULL | - | T
a = 1 IS NULL | a=2 | F
# ---- parse-time refusals ----
a > 'x' | - | !java.lang.RuntimeException: Value ''x'' cannot be compared.
'x' < a | - | !java.lang.RuntimeException: Value ''x'' cannot be compared.
a > TRUE | - | !java.lang.RuntimeException: Value 'TRUE' cannot be compared.
a > NULL | - | !java.lang.RuntimeException: Value 'NULL' cannot be compared.
a >= (b > 1) | - | !java.lang.RuntimeException: Value '(b > 1)' cannot be compared.
NOT a > 1 | - | !java.lang.RuntimeException: Value '(NOT a)' cannot be compared.
a = NULL | - | !java.lang.RuntimeException: 'NULL' cannot be compared.
NULL = a | - | !java.lang.RuntimeException: 'NULL' cannot be compared.
a <> NULL | - | !java.lang.RuntimeException: 'NULL' cannot be compared.
TRUE = 1 | - | !java.lang.RuntimeException: 'TRUE' cannot be compared with '1'
FALSE = 'x' | - | !java.lang.RuntimeException: 'FALSE' cannot be compared with ''x''
TRUE <> 1.5 | - | !java.lang.RuntimeException: 'TRUE' cannot be compared with '1.5'
a BETWEEN 3 AND 1 | - | !java.lang.RuntimeException: Illegal values of between, left value(3) must less than or equal to right value(1)
a BETWEEN 1.5 AND 1 | - | !java.lang.RuntimeException: Illegal values of between, left value(1.5) must less than or equal to right value(1)
a BETWEEN NULL AND 1 | - | !java.lang.RuntimeException: Illegal values of between, values can not be null!
a BETWEEN 1 AND NULL | - | !java.lang.RuntimeException: Illegal values of between, values can not be null!
a BETWEEN 'a' AND 'b' | - | !java.lang.RuntimeException: Value ''a'' cannot be compared.
a BETWEEN 'b' AND 'a' | - | !java.lang.RuntimeException: Illegal values of between, left value(b) must less than or equal to right value(a)
a BETWEEN 1 AND 'x' | - | !java.lang.RuntimeException: java.lang.NumberFormatException: For input string: "x"
a BETWEEN 1.5 AND 'x' | - | !java.lang.RuntimeException: java.lang.NumberFormatException: For input string: "x"
a BETWEEN TRUE AND 3 | - | !java.lang.RuntimeException: Illegal values of between, left value(true) must less than or equal to right value(3)
a BETWEEN 'x' AND TRUE | - | !java.lang.ClassCastException: class java.lang.Boolean cannot be cast
a BETWEEN 1 AND 1 | a=1 | T
a BETWEEN -5 AND -10 | a=-7 | F
a BETWEEN b AND c | a=2;b=1;c=3 | T
a NOT BETWEEN 3 AND 1 | a=2 | T
a NOT BETWEEN NULL AND 1 | - | !java.lang.RuntimeException: Value 'NULL' cannot be compared.
1 IN ('1') | - | !java.lang.RuntimeException: Expected a property for In expression, got: 1
'x' IN ('x') | - | !java.lang.RuntimeException: Expected a property for In expression, got: 'x'
(a) IN ('x') | a=x | T
NOT a IN ('x') | - | !java.lang.RuntimeException: Expected a property for In expression, got: (NOT a)
(a = 1) NOT IN ('x') | - | !java.lang.RuntimeException: Expected a property for In expression, got: (a == 1)
a IN (1) | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " <DECIMAL_LITERAL> "1 "" at line 1, column 7.
a IN () | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " ")" ") "" at line 1, column 7.
a IN ('x',) | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " ")" ") "" at line 1, column 11.
5 | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 5
'x' | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 'x'
1.5 | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 1.5
1e10 | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 1.0E10
-a | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: (- a)
NOT 'x' | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 'x'
a = 1 AND 2 | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 2
2 OR a = 1 | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 2
a = 1 OR -b | - | !org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: (- b)
a > 'x' AND | - | !java.lang.RuntimeException: Value ''x'' cannot be compared.
5 OR a = 'x' AND | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>"
# ---- syntax errors ----
 | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 0, column 0.
a = | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 3.
a == 1 | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " "=" "= "" at line 1, column 4.
a != 1 | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 3.  Encountered: "!" (33), after : ""
a = 1 && b = 1 | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 7.  Encountered: "&" (38), after : ""
a + 1 = 2 | - | U
a + 1 = 2 | a=true | F
a * 2 = 2 | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 3.  Encountered: "*" (42), after : ""
a / 2 = 2 | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 4.  Encountered: " " (32), after : "/"
a.b = 1 | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 3.  Encountered: "b" (98), after : "."
a = "x" | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 5.  Encountered: "\"" (34), after : ""
a = 'x | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 7.  Encountered: <EOF> after : "\'x"
a = 'x'' | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 9.  Encountered: <EOF> after : ""
a = 0x10 | a=0 | T
a = 010 | a=0 | T
a IS | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 4.
a IS NOT | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 8.
a IS 1 | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " <DECIMAL_LITERAL> "1 "" at line 1, column 6.\nWas expecting one of:\n    "NOT" ...\n    "NULL" ...\n    
a NOT b | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " "NOT" "NOT "" at line 1, column 3.
a BETWEEN 1 | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 11.
a BETWEEN 1 OR 2 | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " "OR" "OR "" at line 1, column 13.
(a = 1 | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 6.
() | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " ")" ") "" at line 1, column 2.
a CONTAINS | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 10.
a STARTSWITH b | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " <ID> "b "" at line 1, column 14.
+ | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered " "+" "+ "" at line 1, column 1.
# ---- comments and whitespace ----
a = 1 -- note | a=1 | T
a = 1 -- note\n AND b = 2 | a=1;b=3 | F
a = 1 -- note\r\n AND b = 2 | a=1;b=2 | T
a /* c */ = /**/ 1 | a=1 | T
a /*** c **/ = 1 | a=1 | T
a /* c | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 7.  Encountered: <EOF> after : "/* c"
a\t=\t1 | a=1 | T
a\n=\n1 | a=1 | T
a\f=\r1 | a=1 | T
a\n=\n# | - | !org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 3, column 2.  Encountered: <EOF> after : ""
\ta = | - | !org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 11.
# ---- three-valued logic ----
a = 1 AND b = 1 | a=1;b=1 | T
a = 1 AND b = 1 | a=1 | U
a = 1 AND b = 1 | a=2 | F
a = 1 AND b = 1 | b=2 | F
a = 1 AND b = 1 | - | U
a = 1 OR b = 1 | a=1 | T
a = 1 OR b = 1 | b=1 | T
a = 1 OR b = 1 | a=2 | U
a = 1 OR b = 1 | a=2;b=2 | F
a = 1 OR b = 1 | - | U
NOT (a = 1 AND b = 1) | a=1 | U
NOT (a = 1 OR b = 1) | a=2 | U
NOT (a = 1 OR b = 1) | a=2;b=2 | T
TRUE OR NULL | - | T
NULL OR TRUE | - | T
FALSE OR NULL | - | U
FALSE AND NULL | - | F
NULL AND FALSE | - | F
TRUE AND NULL | - | U
NOT NULL | - | U
NOT NOT TRUE | - | T
NOT FALSE | - | T
a = 1 OR b > 1 | a=1;b=x | T
a = 2 OR b > 1 | a=1;b=x | E
b > 1 OR a = 1 | a=1;b=x | E
a = 2 AND b > 1 | a=1;b=x | F
b > 1 AND a = 2 | a=1;b=x | E
a = 1 OR b = 1 OR c = 1 | c=1 | T
a = 1 AND b = 1 OR c = 1 | c=1 | T
a = 1 OR b = 1 AND c = 1 | b=1;c=1 | T
a = 1 OR b = 1 AND c = 1 | b=1 | U
(a = 1 OR b = 1) AND c = 1 | a=1;c=2 | F
# ---- IS NULL ----
a IS NULL | - | T
a IS NULL | a= | F
a IS NOT NULL | a= | T
a IS NULL AND b IS NULL | - | T
a IS NULL OR b = 1 | a=1 | U
(a > 1) IS NULL | - | T
(a > 1) IS NULL | a=2 | F
(a > 1) IS NOT NULL | a=2 | T
'x' IS NULL | - | F
NULL IS NULL | - | T
1 IS NOT NULL | - | T
-a IS NULL | a=1 | T
# ---- IN ----
a IN ('x') | a=x | T
a IN ('x') | a=X | F
a IN ('x') | - | U
a NOT IN ('x') | - | U
a NOT IN ('x') | a=y | T
a IN ('') | a= | T
a IN ('a','b','c','d','e') | a=e | T
a IN ('a','b','c','d','e') | a=f | F
a IN ('a','b','c','d','e','a') | a=a | T
a NOT IN ('a','b','c','d','e') | a=f | T
a IN ('it''s') | a=it's | T
a IN ('1') | a=1 | T
a IN ('1') | a=01 | F
NOT (a IN ('x')) | a=x | F
NOT (a IN ('x')) | - | U
# ---- CONTAINS / STARTSWITH / ENDSWITH (5.x) ----
a CONTAINS 'b' | a=abc | T
a CONTAINS 'B' | a=abc | F
a CONTAINS 'abc' | a=abc | T
a CONTAINS 'abcd' | a=abc | F
a STARTSWITH 'a' | a=abc | T
a STARTSWITH 'b' | a=abc | F
a ENDSWITH 'c' | a=abc | T
a ENDSWITH 'b' | a=abc | F
a contains 'x' | a=中x文 | T
a CONTAINS 'it''s' | a=it's ok | T
NOT (a CONTAINS 'x') | - | T
NOT (a NOT CONTAINS 'x') | - | T
(a > 1) CONTAINS 'true' | a=2 | F
1 CONTAINS '1' | - | F
a CONTAINS 'x' AND b = 1 | a=x;b=1 | T
a CONTAINS 'x' CONTAINS 'y' | a=x | F
a NOT STARTSWITH 'x' | a=y | T
a NOT ENDSWITH 'x' | a=yx | F
# ---- BETWEEN ----
a BETWEEN 1 AND 3 | a=2 | T
a BETWEEN 1 AND 3 | a=2.5 | E
a BETWEEN 1.0 AND 3.0 | a=2.5 | T
a BETWEEN 1 AND 3.0 | a=2 | T
a BETWEEN 1 AND 3 | - | U
a NOT BETWEEN 1 AND 3 | - | U
a BETWEEN 1 AND 3 | a=x | E
a BETWEEN 1 AND 3 AND b = 1 | a=2;b=1 | T
a BETWEEN -1 AND 1 | a=0 | T
a BETWEEN 2147483648 AND 2147483650 | a=2147483649 | T
a BETWEEN 1 AND 2147483650 | a=2147483649 | E
NOT a BETWEEN 1 AND 2 | - | !java.lang.RuntimeException: Value '(NOT a)' cannot be compared.
"#;

/// `\t`, `\n`, `\r`, `\f` in a selector cell stand for those characters.
fn unescape(s: &str) -> String {
    s.replace("\\t", "\t")
        .replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\f", "\u{c}")
}

fn props(cell: &str) -> HashMap<String, String> {
    if cell.trim() == "-" {
        return HashMap::new();
    }
    cell.split(';')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("name=value");
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn table() {
    let mut failures = Vec::new();
    let mut count = 0;
    for line in ROWS.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.rsplitn(3, " | ").collect();
        let [expected, properties, selector] = cells[..] else {
            panic!("bad row: {line}");
        };
        count += 1;
        let selector = unescape(selector);
        let map = props(properties);
        let got = match Expression::parse(&selector) {
            Err(e) => format!("!{e}"),
            Ok(expr) => {
                let outcome = expr.evaluate(&|name| map.get(name).map(String::as_str));
                assert_eq!(
                    expr.matches(&|name| map.get(name).map(String::as_str)),
                    outcome == Outcome::True
                );
                match outcome {
                    Outcome::True => "T",
                    Outcome::False => "F",
                    Outcome::Unknown => "U",
                    Outcome::Error => "E",
                }
                .to_string()
            }
        };
        let ok = match expected.strip_prefix('!') {
            Some(prefix) => got.starts_with('!') && got[1..].starts_with(&unescape(prefix)),
            None => got == expected,
        };
        if !ok {
            failures.push(format!(
                "{selector:?} with {properties}: expected {expected}, got {got}"
            ));
        }
    }
    assert!(count >= 300, "{count} rows");
    assert!(
        failures.is_empty(),
        "{} of {count} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

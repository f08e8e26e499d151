//! The 5.x broker's metrics switches (`BrokerConfig` of 5.3.3): `metricsExporterType`
//! (`DISABLE`, `OTLP_GRPC`, `PROM`, `LOG`, or their ordinals 0–3; default `DISABLE`),
//! `metricsPromExporterHost` (default empty: every address), `metricsPromExporterPort` (5557),
//! `metricsLabel` (`k1:v1,k2:v2`, extra labels on every series) and `metricsInDelta` (adds
//! `aggregation="delta"`, as Java labels its series then). Only `PROM` is served here;
//! `OTLP_GRPC` and `LOG` are logged as unsupported and leave metrics off.

/// `MetricsExporterType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExporterType {
    #[default]
    Disable,
    OtlpGrpc,
    Prom,
    Log,
}

impl ExporterType {
    /// Java's `valueOf(String)` or `valueOf(int)`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim() {
            "DISABLE" | "0" => ExporterType::Disable,
            "OTLP_GRPC" | "1" => ExporterType::OtlpGrpc,
            "PROM" | "2" => ExporterType::Prom,
            "LOG" | "3" => ExporterType::Log,
            _ => return None,
        })
    }
}

/// The metrics keys of a broker.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    pub exporter_type: ExporterType,
    pub prom_host: String,
    pub prom_port: u16,
    /// `metricsLabel` pairs.
    pub labels: Vec<(String, String)>,
    pub in_delta: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            exporter_type: ExporterType::Disable,
            prom_host: String::new(),
            prom_port: 5557,
            labels: Vec::new(),
            in_delta: false,
        }
    }
}

/// The keys [`MetricsConfig::set`] knows.
pub const METRICS_KEYS: &[&str] = &[
    "metricsExporterType",
    "metricsPromExporterHost",
    "metricsPromExporterPort",
    "metricsLabel",
    "metricsInDelta",
];

impl MetricsConfig {
    /// Applies one broker.conf pair: `Ok(false)` for a key that is not a metrics key, `Err`
    /// with the reason for a value that does not parse (the default is kept).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let v = value.trim();
        match key {
            "metricsExporterType" => {
                self.exporter_type = ExporterType::parse(v)
                    .ok_or_else(|| format!("metricsExporterType: unknown type {v}"))?;
            }
            "metricsPromExporterHost" => self.prom_host = v.to_owned(),
            "metricsPromExporterPort" => {
                self.prom_port = v
                    .parse()
                    .map_err(|_| format!("metricsPromExporterPort: not a port: {v}"))?;
            }
            "metricsLabel" => {
                // Java splits on ',' then ':', and skips malformed pairs with a warning.
                self.labels = v
                    .split(',')
                    .filter_map(|pair| pair.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .filter(|(k, _)| !k.is_empty())
                    .collect();
            }
            "metricsInDelta" => self.in_delta = v.eq_ignore_ascii_case("true"),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The Prometheus exporter's address: `host:port`, every address when the host is empty.
    pub fn prom_addr(&self) -> String {
        let host = if self.prom_host.is_empty() {
            "0.0.0.0"
        } else {
            &self.prom_host
        };
        format!("{host}:{}", self.prom_port)
    }
}

//! A criterion measurement of the benchmarking thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`),
//! so a figure is per core even when other work shares the machine. Shared by the benches of
//! several crates through `#[path]` (each needs `criterion` and `rustix` as dev-dependencies).

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// CPU time of the benchmarking thread, in nanoseconds; throughputs are reported in millions
/// per CPU-second under the label given.
pub struct CpuTime {
    formatter: CpuTimeFormatter,
}

impl CpuTime {
    /// `throughput_label`: how throughputs read, e.g. "M packages/s (per cpu-second)".
    pub fn with_throughput_label(throughput_label: &'static str) -> CpuTime {
        CpuTime {
            formatter: CpuTimeFormatter { throughput_label },
        }
    }
}

fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &self.formatter
    }
}

struct CpuTimeFormatter {
    throughput_label: &'static str,
}

impl ValueFormatter for CpuTimeFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (divisor, unit) = if typical < 1e3 {
            (1.0, "ns (cpu)")
        } else if typical < 1e6 {
            (1e3, "µs (cpu)")
        } else if typical < 1e9 {
            (1e6, "ms (cpu)")
        } else {
            (1e9, "s (cpu)")
        };
        values.iter_mut().for_each(|v| *v /= divisor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per = match throughput {
            Throughput::Elements(n)
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Bits(n) => *n as f64,
            _ => 1.0,
        };
        values.iter_mut().for_each(|v| *v = per * 1e9 / *v / 1e6);
        self.throughput_label
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

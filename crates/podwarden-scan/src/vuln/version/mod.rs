//! Version ordering per ecosystem, exactly as each ecosystem's own tools order versions.

use std::cmp::Ordering;

/// A version-ordering scheme; several ecosystems share one (npm, crates.io and Go use SemVer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Dpkg,
    Apk,
    Rpm,
    Pep440,
    SemVer,
    Maven,
    RubyGems,
    NuGet,
    Packagist,
    Cran,
    Hackage,
    Pub,
}

impl Scheme {
    /// The scheme for an OSV ecosystem string, judged by the part before the first `:`
    /// (`Debian:12`, `Alpine:v3.20`, `Ubuntu:22.04:LTS`). None for ecosystems we cannot order.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or("");
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            "Red Hat" | "AlmaLinux" | "Rocky Linux" | "SUSE" | "openSUSE" | "openEuler"
            | "Mageia" => Scheme::Rpm,
            "PyPI" => Scheme::Pep440,
            "npm" | "crates.io" | "Go" | "Hex" => Scheme::SemVer,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "NuGet" => Scheme::NuGet,
            "Packagist" => Scheme::Packagist,
            "CRAN" => Scheme::Cran,
            "Hackage" => Scheme::Hackage,
            "Pub" => Scheme::Pub,
            _ => return None,
        })
    }
}

/// Compares two versions in `scheme`'s order. Never panics; versions a scheme cannot parse
/// are ordered by that scheme's own fallback rules (as its reference tool would).
///
/// Surrounding whitespace is ignored. Numbers of any length compare exactly. Every scheme
/// but Maven and legacy (non-PEP 440) PyPI versions compares without allocating; those two
/// allocate at most a few times the input's length.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim(), b.trim());
    match scheme {
        Scheme::Dpkg => dpkg::compare(a, b),
        Scheme::Apk => apk::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::Pep440 => pep440::compare(a, b),
        Scheme::SemVer => semver::compare(a, b),
        Scheme::Maven => maven::compare(a, b),
        Scheme::RubyGems => rubygems::compare(a, b),
        Scheme::NuGet => nuget::compare(a, b),
        Scheme::Packagist => packagist::compare(a, b),
        Scheme::Cran => cran::compare(a, b),
        Scheme::Hackage => hackage::compare(a, b),
        Scheme::Pub => pubdev::compare(a, b),
    }
}

/// Sorts `items` stably by `order` with a merge sort. Unlike the standard library's sorts,
/// which may panic when a comparator is not a total order, this always ends with some
/// permutation of the input, whatever `order` answers (version schemes are total orders on
/// the versions they parse, but advisories contain anything).
pub fn merge_sort_by<T: Copy>(items: &mut [T], mut order: impl FnMut(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let mut buffer: Vec<T> = items.to_vec();
    let mut width = 1;
    let len = items.len();
    // Bottom-up: runs of `width` are merged pairwise from `source` into `target`, then the
    // roles swap; `in_items` tracks which side holds the current runs.
    let mut in_items = true;
    while width < len {
        let (source, target): (&[T], &mut [T]) = if in_items {
            (&*items, &mut buffer[..])
        } else {
            (&buffer[..], &mut *items)
        };
        let mut start = 0;
        while start < len {
            let mid = (start + width).min(len);
            let end = (start + 2 * width).min(len);
            let (mut i, mut j, mut k) = (start, mid, start);
            while k < end {
                let take_left = match (source.get(i), source.get(j)) {
                    (Some(left), Some(right)) if i < mid && j < end => {
                        order(right, left) != Ordering::Less
                    }
                    _ => i < mid,
                };
                let from = if take_left { i } else { j };
                if let (Some(slot), Some(&item)) = (target.get_mut(k), source.get(from)) {
                    *slot = item;
                }
                if take_left {
                    i += 1;
                } else {
                    j += 1;
                }
                k += 1;
            }
            start = end;
        }
        in_items = !in_items;
        width *= 2;
    }
    if !in_items {
        items.copy_from_slice(&buffer);
    }
}

mod apk;
mod cran;
mod digits;
mod dpkg;
mod hackage;
mod maven;
mod nuget;
mod packagist;
mod pep440;
mod pubdev;
mod rpm;
mod rubygems;
mod semver;

#[cfg(test)]
mod tests {
    use super::{Scheme, compare};
    use std::cmp::Ordering;

    const ALL: [Scheme; 12] = [
        Scheme::Dpkg,
        Scheme::Apk,
        Scheme::Rpm,
        Scheme::Pep440,
        Scheme::SemVer,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::NuGet,
        Scheme::Packagist,
        Scheme::Cran,
        Scheme::Hackage,
        Scheme::Pub,
    ];

    /// Checks that `versions` ascend strictly, pair by pair, in both directions.
    fn check_ascending(scheme: Scheme, versions: &[&str]) {
        for pair in versions.windows(2) {
            if let [lower, higher] = pair {
                assert_eq!(
                    compare(scheme, lower, higher),
                    Ordering::Less,
                    "{scheme:?}: {lower} < {higher}"
                );
                assert_eq!(
                    compare(scheme, higher, lower),
                    Ordering::Greater,
                    "{scheme:?}: {higher} > {lower}"
                );
            }
        }
    }

    fn check_equal(scheme: Scheme, a: &str, b: &str) {
        assert_eq!(
            compare(scheme, a, b),
            Ordering::Equal,
            "{scheme:?}: {a} = {b}"
        );
        assert_eq!(
            compare(scheme, b, a),
            Ordering::Equal,
            "{scheme:?}: {b} = {a}"
        );
    }

    #[test]
    fn orders_beyond_the_osv_fixtures() {
        // Go pseudo-versions and +incompatible.
        check_ascending(
            Scheme::SemVer,
            &[
                "v1.2.3",
                "v1.2.4-0.20191109021931-daa7c04131f5",
                "v1.2.4-0.20200101000000-0123456789ab",
                "v1.2.4",
                "v2.0.0+incompatible",
                "v2.0.1",
            ],
        );
        check_equal(Scheme::SemVer, "v2.0.0+incompatible", "2.0.0");
        check_ascending(
            Scheme::Apk,
            &[
                "1.0_alpha",
                "1.0_beta",
                "1.0_pre",
                "1.0_rc",
                "1.0",
                "1.0_cvs",
                "1.0_svn",
                "1.0_git",
                "1.0_hg",
                "1.0_p1",
                "1.0a",
                "1.0.1-r0",
                "1.0.1-r1",
                "1.0.1-r10",
            ],
        );
        check_equal(Scheme::Apk, "1.0", "1.0-r0");
        check_ascending(
            Scheme::Dpkg,
            &["1.0~rc1", "1.0", "1.0-1", "1.0+b1", "1:0.9"],
        );
        check_ascending(
            Scheme::Rpm,
            &["1.0~rc1", "1.0", "1.0^git1", "1.0.1", "1:0.1"],
        );
        check_ascending(
            Scheme::Pep440,
            &[
                "not a version",
                "1.0.dev0",
                "1.0a1",
                "1.0b1",
                "1.0rc1",
                "1.0",
                "1.0+local",
                "1.0.post1",
                "1!0.1",
            ],
        );
        check_equal(Scheme::Pep440, "1.0-1", "1.0.post1");
        check_equal(Scheme::Pep440, "v1.0A.", "1.0a0");
        check_equal(Scheme::Pep440, " 1.0.0 ", "1.0");
        check_ascending(
            Scheme::Maven,
            &[
                "1.0-alpha1",
                "1.0-beta1",
                "1.0-milestone1",
                "1.0-rc1",
                "1.0-SNAPSHOT",
                "1.0",
                "1.0-sp1",
                "1.0-foo",
                "1.0.1",
            ],
        );
        check_equal(Scheme::NuGet, "1.0.0-RC.1", "1.0.0-rc.1+build");
        check_ascending(Scheme::NuGet, &["1.0.0-rc.1", "1.0.0", "1.0.0.1"]);
        check_ascending(Scheme::RubyGems, &["1.0-1", "1.0.0.rc1", "1.0", "1.0.1"]);
        check_ascending(
            Scheme::Packagist,
            &[
                "1.0.0-dev",
                "1.0.0-alpha",
                "1.0.0-beta",
                "1.0.0-RC1",
                "1.0.0",
                "1.0.0-p1",
            ],
        );
        check_ascending(Scheme::Cran, &["1.0-1", "1.0-10", "1.0.10.1"]);
        check_ascending(Scheme::Hackage, &["1.0", "1.0.0", "1.0.1"]);
        check_ascending(Scheme::Pub, &["1.0.0-dev", "1.0.0", "1.0.0+1", "1.0.0+2"]);
    }

    #[test]
    fn merge_sort_is_stable_and_survives_inconsistent_orders() {
        use super::merge_sort_by;
        let check = |input: &[(u32, char)], expected: &[(u32, char)]| {
            let mut items = input.to_vec();
            merge_sort_by(&mut items, |a, b| a.0.cmp(&b.0));
            assert_eq!(items, expected, "sorting {input:?}");
        };
        check(&[], &[]);
        check(&[(1, 'a')], &[(1, 'a')]);
        check(
            &[(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')],
            &[(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')],
        );
        let mut rng = Rng(7);
        let mut many: Vec<(u32, char)> = (0..1000)
            .map(|i| ((rng.next() % 50) as u32, char::from(b'a' + (i % 26) as u8)))
            .collect();
        let mut expected = many.clone();
        expected.sort_by_key(|p| p.0);
        merge_sort_by(&mut many, |a, b| a.0.cmp(&b.0));
        assert_eq!(many, expected);
        // A comparator that answers at random still ends with a permutation.
        let mut items: Vec<u32> = (0..500).collect();
        merge_sort_by(&mut items, |_, _| match rng.next() % 3 {
            0 => Ordering::Less,
            1 => Ordering::Equal,
            _ => Ordering::Greater,
        });
        items.sort_unstable();
        assert_eq!(items, (0..500).collect::<Vec<u32>>());
    }

    /// A tiny deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            let index = (self.next() % items.len() as u64) as usize;
            items.get(index).copied().unwrap_or_default()
        }
    }

    /// Fragments real advisories contain, plus hostile ones (huge numbers, non-ASCII).
    const FRAGMENTS: &[&str] = &[
        "0",
        "1",
        "2",
        "10",
        "007",
        "99999999999999999999999999999999",
        ".",
        "..",
        "-",
        "--",
        "_",
        "+",
        "~",
        "^",
        ":",
        "!",
        "#",
        "*",
        " ",
        "v",
        "V",
        "a",
        "b",
        "c",
        "m",
        "p",
        "r",
        "rc",
        "RC",
        "alpha",
        "beta",
        "pre",
        "preview",
        "dev",
        "post",
        "final",
        "ga",
        "sp",
        "snapshot",
        "SNAPSHOT",
        "pl",
        "-r",
        "-r1",
        "_p",
        "_rc",
        "~deb12u1",
        "+dfsg",
        "el9",
        "\u{3b1}",
        "\u{e9}",
        "\u{1f600}",
        "\0",
        "\t",
        "/",
        "@",
        "%",
    ];

    fn garbage(rng: &mut Rng) -> String {
        let parts = rng.next() % 12;
        (0..parts).map(|_| rng.pick(FRAGMENTS)).collect()
    }

    #[test]
    fn garbage_never_panics_and_orders_consistently() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut versions: Vec<String> = (0..400).map(|_| garbage(&mut rng)).collect();
        versions
            .extend(["", " ", ".", "-", ":", "~", "^", "+", "_", "v", "!", "#"].map(String::from));
        for scheme in ALL {
            for a in &versions {
                assert_eq!(
                    compare(scheme, a, a),
                    Ordering::Equal,
                    "{scheme:?}: {a:?} = itself"
                );
            }
            for pair in versions.chunks(2) {
                if let [a, b] = pair {
                    let forward = compare(scheme, a, b);
                    let backward = compare(scheme, b, a);
                    assert_eq!(
                        forward,
                        backward.reverse(),
                        "{scheme:?}: {a:?} vs {b:?} is not antisymmetric"
                    );
                }
            }
        }
    }

    #[test]
    fn huge_inputs_compare_without_blowing_up() {
        let long_number = "9".repeat(200_000);
        let long_dotted = "0.".repeat(100_000);
        let long_mixed = "1a-".repeat(60_000);
        for scheme in ALL {
            for v in [&long_number, &long_dotted, &long_mixed] {
                assert_eq!(
                    compare(scheme, v, v),
                    Ordering::Equal,
                    "{scheme:?}: long input = itself"
                );
            }
            assert_eq!(
                compare(scheme, &long_number, "1"),
                Ordering::Greater,
                "{scheme:?}: a 200000-digit number > 1"
            );
        }
    }
}

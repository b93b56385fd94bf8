//! Heuristics that YARA patterns express poorly: request input reaching a sink through
//! variables (a small per-language taint pass), function names hidden by concatenation,
//! `chr()` or escapes, long encoded blobs fed to a decoder and an evaluator, entropy, and
//! script code hidden in files of another type.

use crate::codeview::{Syntax, code_view};
use crate::sniff::Language;
use memchr::memmem;
use regex::bytes::{Regex, RegexBuilder};

/// One heuristic that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeuristicHit {
    pub name: &'static str,
    pub description: &'static str,
    pub score: u32,
    /// Byte offset the hit points at, if any.
    pub offset: Option<usize>,
}

/// How the file was typed, for the heuristics that care.
#[derive(Debug, Clone, Copy)]
pub struct FileKind {
    /// Language from content and extension together.
    pub language: Language,
    /// Language the extension alone suggests.
    pub by_extension: Language,
    /// Extension is an image, text or style format (not a script).
    pub inert_extension: bool,
}

/// Most variables tracked per file, and most assignments looked at: bounds the taint pass.
const MAX_TAINTED: usize = 256;
const MAX_ASSIGNMENTS: usize = 20_000;
/// Shortest base64 run counted as an encoded blob.
const BLOB_MIN: usize = 1000;

/// Compiles a heuristic pattern with Unicode off: `\w`, `\s`, `[^;]` and `(?i)` work on ASCII
/// bytes. Source code is matched byte-wise anyway, and Unicode classes under bounded
/// repetitions (`[^;]{0,300}`) blow the lazy DFA's cache up, leaving the slow PikeVM to do
/// the search (over ten times slower on real PHP trees).
fn regex(pattern: &str) -> Regex {
    // The patterns are constants of this module, covered by its tests.
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .unwrap_or_else(|err| panic!("heuristic pattern {pattern:?}: {err}"))
}

/// Which argument of a sink call must carry tainted data.
#[derive(Debug, Clone, Copy)]
enum ArgPosition {
    Any,
    Nth(usize),
}

struct Sink {
    pattern: Regex,
    score: u32,
    /// Which names in the match select which argument; `None` = any argument.
    position: fn(&[u8]) -> ArgPosition,
    description: &'static str,
}

/// Taint pass of one language: sources (assignments from request input), propagation
/// (assignments from tainted variables), sinks, and variable-function calls.
struct TaintLanguage {
    /// Request input markers; the pass runs only when one occurs.
    markers: &'static [&'static [u8]],
    /// Request input, looked for in the right side of assignments.
    source: Regex,
    /// Any assignment: groups `var`, `rhs`, optional `index` (element assignment) and
    /// `append` (`.=` / `+=`, which adds to the old value instead of replacing it).
    assign: Regex,
    /// Words on a right side that make the value harmless (casts, escaping, hashing).
    sanitizers: Regex,
    sinks: Vec<Sink>,
    /// Variable used as a function; group 1 = variable.
    var_call: Option<Regex>,
    /// Variables are written `$name` (PHP, Perl) rather than `name`.
    sigil: bool,
    /// Comment and string syntax, for the code view the pass runs on.
    syntax: Syntax,
    /// Keyword opening a new function scope (PHP `function`): taint never crosses it.
    scope_keyword: Option<&'static [u8]>,
}

/// Largest distance, in bytes, from where a variable is tainted to the sink it reaches:
/// webshells read input and use it within a few lines; far-apart uses of the same name in a
/// large application are different variables.
const MAX_FLOW_DISTANCE: usize = 4096;

pub struct Heuristics {
    php: TaintLanguage,
    jsp: TaintLanguage,
    asp: TaintLanguage,
    perl: TaintLanguage,
    python: TaintLanguage,
    php_foreach: Regex,
    literal: Regex,
    junk_removal: Regex,
    encoded_literal: Regex,
    dynamic_sink: Regex,
    decoder: Regex,
    php_sink_any: Regex,
}

const DANGEROUS_NAMES: &[&str] = &[
    "eval",
    "assert",
    "create_function",
    "base64_decode",
    "gzinflate",
    "gzuncompress",
    "gzdecode",
    "str_rot13",
    "system",
    "exec",
    "shell_exec",
    "passthru",
    "popen",
    "proc_open",
    "pcntl_exec",
    "call_user_func",
    "call_user_func_array",
    "preg_replace",
    "file_put_contents",
    "move_uploaded_file",
    "convert_uudecode",
    "strrev",
    "array_map",
    "fwrite",
    "fopen",
    "include",
    "getruntime",
    "java.lang.runtime",
    "processbuilder",
    "wscript.shell",
];

const SUPERGLOBALS: &[&str] = &["_get", "_post", "_request", "_cookie", "_server", "_files"];

fn first_arg(_: &[u8]) -> ArgPosition {
    ArgPosition::Nth(0)
}
fn any_arg(_: &[u8]) -> ArgPosition {
    ArgPosition::Any
}
/// PHP callbacks: the callback argument's position depends on the function.
fn php_callback_arg(name: &[u8]) -> ArgPosition {
    let name = name.to_ascii_lowercase();
    match name.as_slice() {
        b"usort"
        | b"uasort"
        | b"uksort"
        | b"array_filter"
        | b"array_walk"
        | b"array_reduce"
        | b"preg_replace_callback" => ArgPosition::Nth(1),
        _ => ArgPosition::Nth(0),
    }
}

impl Heuristics {
    pub fn new() -> Heuristics {
        let php = TaintLanguage {
            markers: &[
                b"$_GET",
                b"$_POST",
                b"$_REQUEST",
                b"$_COOKIE",
                b"$_SERVER",
                b"php://input",
                b"getallheaders",
                b"$_FILES",
                b"HTTP_",
            ],
            source: regex(
                r#"\$_(?:GET|POST|REQUEST|COOKIE|FILES)\b|\$_SERVER\s*\[\s*['"]HTTP_|php://input|getallheaders\s*\(|apache_request_headers\s*\(|\$HTTP_(?:GET|POST|COOKIE)_VARS"#,
            ),
            assign: regex(
                r"\$(?P<var>[A-Za-z_]\w*)\s*(?P<index>\[[^\]\n]{0,40}\])?\s*(?P<append>\.)?=\s*(?P<rhs>[^=;>][^;]{0,300})",
            ),
            sanitizers: regex(
                r"(?i)\b(?:is_\w+|intval|floatval|boolval|escapeshellarg|escapeshellcmd|htmlspecialchars|htmlentities|basename|is_numeric|is_array|preg_match|in_array|array_key_exists|filter_var|filter_input|md5|sha1|hash|crc32|strlen|count|sizeof|sanitize_\w+|esc_\w+|absint|json_encode|urlencode|rawurlencode|addslashes|real_escape_string|quote|ctype_\w+|strip_tags|\w*_escape\w*)\s*\(|\((?:int|integer|bool|boolean|float|double)\)|[=!]==?",
            ),
            sinks: vec![
                Sink {
                    pattern: regex(r"(?i)(?:^|[^\w>$:\\])(eval|assert|create_function)\s*\("),
                    score: 85,
                    position: any_arg,
                    description: "request input reaches eval/assert through a variable",
                },
                Sink {
                    pattern: regex(
                        r"(?i)(?:^|[^\w>$:\\])(system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec)\s*\(",
                    ),
                    score: 85,
                    position: first_arg,
                    description: "request input reaches a shell command through a variable",
                },
                Sink {
                    pattern: regex(
                        r"(?i)(?:^|[^\w>$:\\])(call_user_func_array|call_user_func|array_map|usort|uasort|uksort|array_filter|array_walk|array_reduce|register_shutdown_function|preg_replace_callback|ob_start)\s*\(",
                    ),
                    score: 80,
                    position: php_callback_arg,
                    description: "request input chooses a callback through a variable",
                },
                Sink {
                    pattern: regex(r"(?i)(?:^|[^\w>$:\\])(file_put_contents)\s*\("),
                    score: 45,
                    position: first_arg,
                    description: "request input chooses the path of a file write",
                },
                Sink {
                    pattern: regex(
                        r"(?i)(?:^|[^\w>$:\\])(include|require|include_once|require_once)\b\s*\(?",
                    ),
                    score: 45,
                    position: any_arg,
                    description: "request input chooses an included file",
                },
            ],
            var_call: Some(regex(
                r"(?:^|[^\w>:$\\])\$\{?([A-Za-z_]\w*)\}?(?:\s*\[[^\]\n]{0,40}\])?\s*\(",
            )),
            sigil: true,
            syntax: Syntax::Php,
            scope_keyword: Some(b"function"),
        };
        let jsp = TaintLanguage {
            markers: &[b"request.get", b"getInputStream"],
            source: regex(
                r"request\.get(?:Parameter|Header|QueryString|InputStream|Reader|ParameterValues)\s*\(|getInputStream\s*\(\s*\)",
            ),
            assign: regex(
                r"\b(?P<var>[A-Za-z_]\w*)\s*(?:\[\s*\])?\s*(?P<append>\+)?=\s*(?P<rhs>[^=;][^;]{0,300})",
            ),
            sanitizers: regex(
                r"\b(?:Integer\.parseInt|Long\.parseLong|escapeHtml\w*|encodeURL|URLEncoder\.encode|equals|matches|hashCode|length|isEmpty)\s*\(|[=!]=",
            ),
            sinks: vec![
                Sink {
                    pattern: regex(r"(\.exec|new\s+ProcessBuilder|\.command)\s*\("),
                    score: 85,
                    position: any_arg,
                    description: "request input reaches Runtime.exec/ProcessBuilder through a variable",
                },
                Sink {
                    pattern: regex(r"(\.eval|defineClass|\.loadClass|Class\.forName)\s*\("),
                    score: 80,
                    position: any_arg,
                    description: "request input reaches script evaluation or class loading",
                },
                Sink {
                    pattern: regex(r"new\s+(FileOutputStream|FileWriter|RandomAccessFile)\s*\("),
                    score: 45,
                    position: first_arg,
                    description: "request input chooses the path of a file write",
                },
            ],
            var_call: None,
            sigil: false,
            syntax: Syntax::CLike,
            scope_keyword: None,
        };
        let asp = TaintLanguage {
            markers: &[b"Request", b"request("],
            source: regex(
                r#"(?i)\bRequest\s*(?:\.\s*(?:Form|QueryString|Params|Item|Headers|Cookies|ServerVariables|BinaryRead|InputStream))?\s*[\[\(.]"#,
            ),
            assign: regex(
                r"(?i)\b(?P<var>[A-Za-z_]\w*)\s*(?P<append>\+)?=\s*(?P<rhs>[^=;\n][^;\n]{0,300})",
            ),
            sanitizers: regex(
                r"(?i)\b(?:Int32\.Parse|int\.Parse|CInt|CLng|HtmlEncode|UrlEncode|Equals|IsNumeric|Len)\s*\(|[=!]=",
            ),
            sinks: vec![
                Sink {
                    pattern: regex(
                        r"(?i)(Process\.Start|new\s+(?:System\.Diagnostics\.)?ProcessStartInfo|\.(?:Run|Exec|ShellExecute))\s*[\( ]",
                    ),
                    score: 85,
                    position: any_arg,
                    description: "request input reaches a started process through a variable",
                },
                Sink {
                    pattern: regex(r"(?i)\.(FileName|Arguments)\s*=\s*"),
                    score: 85,
                    position: any_arg,
                    description: "request input sets a process's file name or arguments",
                },
                Sink {
                    pattern: regex(
                        r"(?i)(?:^|[^\w.])(Execute|ExecuteGlobal|Eval|Assembly\.Load)\s*[\( ]",
                    ),
                    score: 85,
                    position: any_arg,
                    description: "request input reaches Execute/Eval/Assembly.Load through a variable",
                },
            ],
            var_call: None,
            sigil: false,
            syntax: Syntax::Basic,
            scope_keyword: None,
        };
        let perl = TaintLanguage {
            markers: &[b"param", b"QUERY_STRING", b"$FORM", b"$in{", b"STDIN"],
            source: regex(
                r#"param\s*\(|\$ENV\s*\{\s*['"]?QUERY_STRING|\$FORM\s*\{|\$in\s*\{|<STDIN>"#,
            ),
            assign: regex(
                r"\$(?P<var>[A-Za-z_]\w*)\s*(?P<append>\.)?=\s*(?P<rhs>[^=;~][^;]{0,300})",
            ),
            sanitizers: regex(r"\b(?:quotemeta|int|escapeHTML|uri_escape|length)\s*\(|[=!]="),
            sinks: vec![Sink {
                pattern: regex(r"(?:^|[^\w$>])(system|exec|qx|eval|open)\s*[\(\{ ]|`"),
                score: 80,
                position: any_arg,
                description: "request input reaches system/exec/backticks/pipe open",
            }],
            var_call: None,
            sigil: true,
            syntax: Syntax::Hash,
            scope_keyword: Some(b"\nsub "),
        };
        let python = TaintLanguage {
            markers: &[b"FieldStorage", b"QUERY_STRING", b"request.", b"getvalue"],
            source: regex(
                r"\.getvalue\s*\(|\.getfirst\s*\(|\.getlist\s*\(|QUERY_STRING|FieldStorage\s*\(|request\.(?:args|form|values|data|get_json)",
            ),
            assign: regex(
                r"\b(?P<var>[A-Za-z_]\w*)\s*(?P<append>\+)?=\s*(?P<rhs>[^=\n][^\n]{0,300})",
            ),
            sanitizers: regex(r"\b(?:int|float|quote|escape|shlex\.quote|len)\s*\(|[=!]="),
            sinks: vec![Sink {
                pattern: regex(
                    r"(os\.system|os\.popen|subprocess\.\w+|commands\.getoutput|pty\.spawn|(?:^|[^\w.])eval|(?:^|[^\w.])exec)\s*\(",
                ),
                score: 85,
                position: any_arg,
                description: "request input reaches os.system/subprocess/eval",
            }],
            var_call: None,
            sigil: false,
            syntax: Syntax::Hash,
            scope_keyword: Some(b"\ndef "),
        };
        Heuristics {
            php,
            jsp,
            asp,
            perl,
            python,
            php_foreach: regex(
                r"(?i)foreach\s*\(\s*(?P<request>\$_(?:GET|POST|REQUEST|COOKIE|SERVER)\s+)?[^;{]{0,120}?\bas\s+&?\$(?P<key>\w+)(?:\s*=>\s*&?\$(?P<value>\w+))?",
            ),
            literal: regex(r#""((?:\\(?:x[0-9a-fA-F]{1,2}|[0-7]{1,3})|[A-Za-z_.]){3,60})""#),
            junk_removal: regex(
                r#"str_replace\s*\(\s*(['"])([^'"\n]{1,8})(['"])\s*,\s*['"]['"]\s*,\s*['"]([^'"\n]{4,80})['"]"#,
            ),
            encoded_literal: regex(
                r#"(?i)(base64_decode|str_rot13|strrev)\s*\(\s*['"]([A-Za-z0-9+/=_]{3,60})['"]\s*\)"#,
            ),
            dynamic_sink: regex(
                r#"(?i)(?:^|[^\w>$:\\])(?:eval|assert|create_function)\s*\(|preg_replace\s*\(\s*['"].{0,80}/[a-z]{0,5}e[a-z]{0,5}['"]|(?:^|[^\w>:$\\])\$\{?[A-Za-z_]\w*\}?\s*\(\s*[$@'"]|Assembly\.Load|defineClass|(?:^|[^\w.])Execute(?:Global)?\s*[\( ]"#,
            ),
            decoder: regex(
                r"(?i)base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|convert_uudecode|FromBase64String|decodeBuffer|getDecoder\s*\(|hex2bin|b64decode|unpack\s*\(|strrev\s*\(",
            ),
            php_sink_any: regex(
                r"(?i)(?:^|[^\w>$:\\])(?:eval|assert|create_function|system|shell_exec|passthru|popen|proc_open|exec|call_user_func|include|require|base64_decode|gzinflate)\s*\(",
            ),
        }
    }

    /// Runs every heuristic that applies to a file of this kind.
    pub fn run(&self, kind: FileKind, data: &[u8]) -> Vec<HeuristicHit> {
        let mut hits = Vec::new();
        match kind.language {
            Language::Php => {
                let (sources, definitions) = self.php_foreach_bindings(data);
                self.php.run(data, &sources, &definitions, &mut hits);
                self.hidden_names(data, &mut hits);
            }
            Language::Jsp => self.jsp.run(data, &[], &[], &mut hits),
            Language::Asp => self.asp.run(data, &[], &[], &mut hits),
            Language::Cgi => {
                self.perl.run(data, &[], &[], &mut hits);
                self.python.run(data, &[], &[], &mut hits);
            }
            Language::ServerPage => {
                self.jsp.run(data, &[], &[], &mut hits);
                self.asp.run(data, &[], &[], &mut hits);
            }
            Language::None => return hits,
        }
        self.encoded_payload(data, &mut hits);
        if kind.language == Language::Php
            && kind.by_extension != Language::Php
            && kind.inert_extension
        {
            let with_sink = self.php_sink_any.find(data);
            hits.push(HeuristicHit {
                name: "php_in_non_script_file",
                description: "PHP code inside a file whose extension is not a script (image, text, style)",
                score: if with_sink.is_some() { 45 } else { 15 },
                offset: with_sink.map(|m| m.start()).or_else(|| memmem::find(data, b"<?")),
            });
        }
        hits
    }

    /// `foreach (... as $k => $v)` bindings: (tainted ones over superglobals, all of them).
    #[allow(clippy::type_complexity)]
    fn php_foreach_bindings(&self, data: &[u8]) -> (Vec<(String, usize)>, Vec<(String, usize)>) {
        let mut sources = Vec::new();
        let mut definitions = Vec::new();
        for caps in self.php_foreach.captures_iter(data).take(4096) {
            let over_request = caps.name("request").is_some();
            for group in ["key", "value"] {
                if let Some(name) = caps.name(group) {
                    let binding = (
                        String::from_utf8_lossy(name.as_bytes()).into_owned(),
                        name.start(),
                    );
                    if over_request {
                        sources.push(binding.clone());
                    }
                    definitions.push(binding);
                }
            }
        }
        (sources, definitions)
    }

    /// Dangerous function names assembled from concatenated pieces, `chr()` codes, escapes
    /// or `str_replace` junk removal; at most one hit per kind (function, superglobal).
    fn hidden_names(&self, data: &[u8], hits: &mut Vec<HeuristicHit>) {
        let mut found: Vec<HeuristicHit> = Vec::new();
        let mut keep = |hit: HeuristicHit| {
            if !found.iter().any(|h| h.name == hit.name) {
                found.push(hit);
            }
        };
        if memchr::memchr(b'.', data).is_some() {
            for chain in literal_chains(data) {
                let decoded = decode_php_chain(data.get(chain.clone()).unwrap_or_default());
                if let Some(hit) = classify_hidden(&decoded, chain.start, Hiding::Pieces) {
                    keep(hit);
                }
            }
        }
        if memchr::memchr(b'\\', data).is_some() {
            for caps in self.literal.captures_iter(data) {
                let Some(inner) = caps.get(1) else { continue };
                if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
                    continue;
                }
                let decoded = decode_php_double_quoted(inner.as_bytes());
                if let Some(hit) = classify_hidden(&decoded, inner.start(), Hiding::Escapes) {
                    keep(hit);
                }
            }
        }
        for caps in self.encoded_literal.captures_iter(data) {
            let (Some(function), Some(text)) = (caps.get(1), caps.get(2)) else {
                continue;
            };
            let decoded = match function.as_bytes().to_ascii_lowercase().as_slice() {
                b"base64_decode" => decode_base64(text.as_bytes()),
                b"str_rot13" => text.as_bytes().iter().map(|&b| rot13(b)).collect(),
                _ => text.as_bytes().iter().rev().copied().collect(),
            };
            if let Some(hit) = classify_hidden(&decoded, function.start(), Hiding::Encoded) {
                keep(hit);
            }
        }
        if memmem::find(data, b"str_replace").is_some() {
            for caps in self.junk_removal.captures_iter(data) {
                let (Some(junk), Some(subject)) = (caps.get(2), caps.get(4)) else {
                    continue;
                };
                if junk.as_bytes().is_empty() {
                    continue;
                }
                let cleaned = remove_all(subject.as_bytes(), junk.as_bytes());
                if let Some(hit) = classify_hidden(&cleaned, subject.start(), Hiding::Junk) {
                    keep(hit);
                }
            }
        }
        hits.extend(found);
    }

    /// Long encoded blobs, hex-escape runs, very long lines and high entropy, scored by
    /// whether a decoder and an evaluator are present too.
    fn encoded_payload(&self, data: &[u8], hits: &mut Vec<HeuristicHit>) {
        let stats = TextStats::of(data);
        let has_decoder = || self.decoder.is_match(data);
        let sink = || self.dynamic_sink.find(data).map(|m| m.start());
        if stats.longest_b64_run >= BLOB_MIN {
            let blob = data
                .get(stats.longest_b64_start..stats.longest_b64_start + stats.longest_b64_run)
                .unwrap_or_default();
            if entropy(blob) >= 4.5 {
                let (score, description) = match (has_decoder(), sink()) {
                    (true, Some(_)) => (
                        75,
                        "long encoded blob with a decoder and dynamic evaluation",
                    ),
                    (true, None) => (35, "long encoded blob passed to a decoder"),
                    (false, Some(_)) => (30, "long encoded blob in a file with dynamic evaluation"),
                    (false, None) => (10, "long encoded blob"),
                };
                hits.push(HeuristicHit {
                    name: "encoded_blob",
                    description,
                    score,
                    offset: Some(stats.longest_b64_start),
                });
            }
        }
        if stats.longest_hex_escape_run >= 40 {
            let score = if sink().is_some() { 60 } else { 30 };
            hits.push(HeuristicHit {
                name: "hex_escaped_string",
                description: "long run of \\xNN escapes (hidden code or names)",
                score,
                offset: Some(stats.longest_hex_escape_start),
            });
        }
        if stats.longest_line >= 20_000 {
            hits.push(HeuristicHit {
                name: "very_long_line",
                description: "line longer than 20000 characters in server-side code",
                score: 15,
                offset: Some(stats.longest_line_start),
            });
        }
        if data.len() >= 2048 {
            let file_entropy = entropy(data);
            if file_entropy >= 5.6 {
                hits.push(HeuristicHit {
                    name: "high_entropy",
                    description: "server-side code with the entropy of encoded or encrypted data",
                    score: if sink().is_some() { 40 } else { 25 },
                    offset: None,
                });
            }
        }
    }
}

/// Where each variable got tainted, and where every variable is (re)defined.
#[derive(Default)]
struct Taint {
    at: Vec<(Vec<u8>, usize)>,
    definitions: Vec<(Vec<u8>, usize)>,
}

impl Taint {
    fn len(&self) -> usize {
        self.at.len()
    }

    fn add(&mut self, name: &[u8], offset: usize) {
        if self.at.len() < MAX_TAINTED && !self.at.iter().any(|(n, o)| n == name && *o == offset) {
            self.at.push((name.to_vec(), offset));
        }
    }

    /// Is `name`, used at `use_at`, tainted by an assignment shortly before, in the same
    /// scope, and not redefined in between?
    fn reaches(&self, name: &[u8], use_at: usize, view: &[u8], scope: Option<&[u8]>) -> bool {
        self.at.iter().any(|(n, origin)| {
            n == name
                && *origin <= use_at
                && use_at - origin <= MAX_FLOW_DISTANCE
                && !self
                    .definitions
                    .iter()
                    .any(|(d, at)| d == name && *at > *origin && *at < use_at)
                && scope.is_none_or(|keyword| {
                    view.get(*origin..use_at)
                        .is_none_or(|between| memmem::find(between, keyword).is_none())
                })
        })
    }
}

/// Superglobals are written to by some code; they are sources, not variables to track.
fn is_superglobal(name: &[u8]) -> bool {
    matches!(
        name,
        b"_GET"
            | b"_POST"
            | b"_REQUEST"
            | b"_COOKIE"
            | b"_SERVER"
            | b"_FILES"
            | b"_SESSION"
            | b"_ENV"
            | b"GLOBALS"
    )
}

/// A sink call whose checked argument mentions variables: where it is and which names.
struct SinkCall<'a> {
    start: usize,
    names: Vec<&'a [u8]>,
}

/// A variable called as a function (`$f(...)`): where the call is and the variable.
struct VariableCall<'a> {
    start: usize,
    var: &'a [u8],
    var_start: usize,
}

impl TaintLanguage {
    fn run(
        &self,
        data: &[u8],
        extra_sources: &[(String, usize)],
        extra_definitions: &[(String, usize)],
        hits: &mut Vec<HeuristicHit>,
    ) {
        if !self
            .markers
            .iter()
            .any(|marker| memmem::find(data, marker).is_some())
        {
            return;
        }
        let view = code_view(data, self.syntax);
        let view = view.as_slice();
        // Nothing can be tainted when no request input occurs in the code (every assigned
        // value the pass looks at is a piece of the view).
        if extra_sources.is_empty() && !self.source.is_match(view) {
            return;
        }
        // Sinks first: the assignment pass is the expensive part, and most files that read
        // request input never pass a variable to a sink.
        let sink_calls = self.sink_calls(view);
        let variable_calls = self.variable_calls(view);
        if sink_calls.iter().all(Vec::is_empty) && variable_calls.is_empty() {
            return;
        }
        let mut taint = Taint::default();
        // Whole-variable assignments only: writing one element of an array does not make the
        // array a request value.
        let assignments: Vec<(&[u8], usize, &[u8])> = self
            .assign
            .captures_iter(view)
            .take(MAX_ASSIGNMENTS)
            .filter_map(|caps| {
                let var = caps.name("var")?;
                if caps.name("index").is_some() || is_superglobal(var.as_bytes()) {
                    return None;
                }
                if caps.name("append").is_none() {
                    taint
                        .definitions
                        .push((var.as_bytes().to_vec(), var.start()));
                }
                Some((
                    var.as_bytes(),
                    var.start(),
                    assigned_value(caps.name("rhs")?.as_bytes()),
                ))
            })
            .collect();
        for (name, offset) in extra_definitions {
            taint.definitions.push((name.as_bytes().to_vec(), *offset));
        }
        for (var, offset, rhs) in &assignments {
            if self.source.is_match(rhs) && !self.sanitizers.is_match(rhs) {
                taint.add(var, *offset);
            }
        }
        for (name, offset) in extra_sources {
            taint.add(name.as_bytes(), *offset);
        }
        if taint.len() == 0 {
            return;
        }
        // Two rounds of propagation through plain assignments.
        let scope = self.scope_keyword;
        for _ in 0..2 {
            let before = taint.len();
            for (var, offset, rhs) in &assignments {
                if taint.len() >= MAX_TAINTED {
                    break;
                }
                if self.sanitizers.is_match(rhs) {
                    continue;
                }
                let flows = referenced_names(rhs, self.sigil)
                    .iter()
                    .any(|name| taint.reaches(name, *offset, view, scope));
                if flows {
                    taint.add(var, *offset);
                }
            }
            if taint.len() == before {
                break;
            }
        }
        let mut best: Option<HeuristicHit> = None;
        let mut consider = |hit: HeuristicHit| {
            if best.as_ref().is_none_or(|b| hit.score > b.score) {
                best = Some(hit);
            }
        };
        for (sink, calls) in self.sinks.iter().zip(&sink_calls) {
            let reached = calls.iter().find(|call| {
                call.names
                    .iter()
                    .any(|var| taint.reaches(var, call.start, view, scope))
            });
            if let Some(call) = reached {
                consider(HeuristicHit {
                    name: "request_input_to_sink",
                    description: sink.description,
                    score: sink.score,
                    offset: Some(call.start),
                });
            }
        }
        let called = variable_calls
            .iter()
            .find(|call| taint.reaches(call.var, call.start, view, scope));
        if let Some(call) = called {
            consider(HeuristicHit {
                name: "request_chosen_function",
                description: "variable holding request input is called as a function",
                score: 90,
                offset: Some(call.var_start.saturating_sub(1)),
            });
        }
        hits.extend(best);
    }

    /// Per sink, its calls whose checked argument is unsanitised and names variables.
    fn sink_calls<'v>(&self, view: &'v [u8]) -> Vec<Vec<SinkCall<'v>>> {
        self.sinks
            .iter()
            .map(|sink| {
                sink.pattern
                    .captures_iter(view)
                    .filter_map(|found| {
                        let whole = found.get(0)?;
                        let name = found.get(1).map_or(&b""[..], |m| m.as_bytes());
                        let args = call_arguments(view, whole.end());
                        let checked = match (sink.position)(name) {
                            ArgPosition::Any => args,
                            ArgPosition::Nth(n) => nth_argument(args, n),
                        };
                        if self.sanitizers.is_match(checked) {
                            return None;
                        }
                        let names = referenced_names(checked, self.sigil);
                        (!names.is_empty()).then_some(SinkCall {
                            start: whole.start(),
                            names,
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// Variables called as functions (not `new $class(...)`).
    fn variable_calls<'v>(&self, view: &'v [u8]) -> Vec<VariableCall<'v>> {
        let Some(var_call) = &self.var_call else {
            return Vec::new();
        };
        var_call
            .captures_iter(view)
            .filter_map(|caps| {
                let (whole, var) = (caps.get(0)?, caps.get(1)?);
                let head = view.get(..var.start()).unwrap_or_default();
                let head = head.get(head.len().saturating_sub(8)..).unwrap_or_default();
                let after_new = head.trim_ascii_end().strip_suffix(b"$").unwrap_or_default();
                if after_new.trim_ascii_end().ends_with(b"new") {
                    return None;
                }
                Some(VariableCall {
                    start: whole.start(),
                    var: var.as_bytes(),
                    var_start: var.start(),
                })
            })
            .collect()
    }
}

/// The assigned value: the right side up to the end of the enclosing expression (an
/// unbalanced closing bracket, or `&&` / `||` at the top level), so `if (($a = f()) &&
/// isset($_GET['x']))` does not taint `$a`.
fn assigned_value(rhs: &[u8]) -> &[u8] {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, &byte) in rhs.iter().enumerate() {
        match quote {
            Some(q) if byte == q => quote = None,
            Some(_) => {}
            None => match byte {
                b'\'' | b'"' => quote = Some(byte),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth == 0 => return rhs.get(..i).unwrap_or(rhs),
                b')' | b']' | b'}' => depth -= 1,
                b'&' | b'|' if depth == 0 && rhs.get(i + 1) == Some(&byte) => {
                    return rhs.get(..i).unwrap_or(rhs);
                }
                _ => {}
            },
        }
    }
    rhs
}

/// The text after a call's opening parenthesis (or after `=`), up to the end of the
/// statement, bounded.
fn call_arguments(data: &[u8], from: usize) -> &[u8] {
    let rest = data.get(from..).unwrap_or_default();
    let rest = rest.get(..rest.len().min(240)).unwrap_or(rest);
    let end = memchr::memchr2(b';', b'\n', rest).unwrap_or(rest.len());
    rest.get(..end).unwrap_or(rest)
}

/// The `n`th top-level comma-separated argument of `args` (nesting and quotes respected).
fn nth_argument(args: &[u8], n: usize) -> &[u8] {
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut index = 0;
    let mut start = 0;
    for (i, &byte) in args.iter().enumerate() {
        match quote {
            Some(q) if byte == q => quote = None,
            Some(_) => {}
            None => match byte {
                b'\'' | b'"' => quote = Some(byte),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth == 0 => {
                    return if index == n {
                        args.get(start..i).unwrap_or_default()
                    } else {
                        b""
                    };
                }
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 => {
                    if index == n {
                        return args.get(start..i).unwrap_or_default();
                    }
                    index += 1;
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    if index == n {
        args.get(start..).unwrap_or_default()
    } else {
        b""
    }
}

/// Identifiers (`$name` when `sigil`) that `text` mentions outside `[...]` indexes: an
/// input used only as a key into a table (`$handlers[$_GET['a']]`) picks among fixed values.
fn referenced_names(text: &[u8], sigil: bool) -> Vec<&[u8]> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&byte) = text.get(i) {
        match byte {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        let starts_here = if sigil {
            byte == b'$'
        } else {
            is_word(byte)
                && !byte.is_ascii_digit()
                && (i == 0 || text.get(i - 1).is_some_and(|&b| !is_word(b) && b != b'.'))
        };
        if !starts_here {
            i += 1;
            continue;
        }
        let begin = if sigil { i + 1 } else { i };
        let mut end = begin;
        while text.get(end).is_some_and(|&b| is_word(b)) {
            end += 1;
        }
        if depth == 0
            && let Some(word) = text.get(begin..end)
            && !word.is_empty()
        {
            names.push(word);
        }
        i = end.max(i + 1);
    }
    names
}

/// Most pieces in one concatenation chain after the first, and most characters (or escapes)
/// in one quoted piece.
const MAX_CHAIN_LINKS: usize = 40;
const MAX_PIECE_UNITS: usize = 40;

/// Concatenation chains of PHP string literals and `chr()` calls (`'as'.'se'.\"rt\"`,
/// `chr(101) . chr(0x76)`): at least two pieces joined by `.`, found left to right without
/// overlap. A hand-written matcher for the regex (case-insensitive, ASCII)
///
/// `(?:'(?:[^'\\\n]|\\.){0,40}'|"(?:[^"\\\n]|\\.){0,40}"|chr\s*\(\s*(?:0x[0-9a-f]{1,2}|\d{1,3})\s*\))`
/// followed by `(?:\s*\.\s*<the same>){1,40}`,
///
/// which the regex crate runs slowly (the nested bounded repeats make a large automaton).
/// Linear: a start is tried only at a quote or a `c`, and a failed try reads one piece and
/// the blanks after it.
fn literal_chains(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut chains = Vec::new();
    let mut at = 0;
    // A chain starts at a quote or at the `chr` before an opening parenthesis; anything
    // between two of those cannot start one.
    while let Some(offset) = memchr::memchr3(b'\'', b'"', b'(', data.get(at..).unwrap_or_default())
    {
        let found = at + offset;
        let start = if data.get(found) == Some(&b'(') {
            match chr_before(data, found) {
                Some(start) if start >= at => start,
                _ => {
                    at = found + 1;
                    continue;
                }
            }
        } else {
            found
        };
        match chain_at(data, start) {
            Some(end) => {
                chains.push(start..end);
                at = end;
            }
            None => at = start + 1,
        }
    }
    chains
}

/// Where `chr` starts when the parenthesis at `open` follows `chr` and blanks.
fn chr_before(data: &[u8], open: usize) -> Option<usize> {
    let head = data.get(..open)?;
    let blanks = head
        .iter()
        .rev()
        .take_while(|&&byte| is_blank(byte))
        .count();
    let name_end = open - blanks;
    let name_start = name_end.checked_sub(3)?;
    data.get(name_start..name_end)?
        .eq_ignore_ascii_case(b"chr")
        .then_some(name_start)
}

/// The end of the chain starting at `start`, if one with at least two pieces starts there.
fn chain_at(data: &[u8], start: usize) -> Option<usize> {
    let mut end = piece_at(data, start)?;
    let mut links = 0;
    while links < MAX_CHAIN_LINKS {
        let dot = skip_blanks(data, end);
        if data.get(dot) != Some(&b'.') {
            break;
        }
        let Some(next) = piece_at(data, skip_blanks(data, dot + 1)) else {
            break;
        };
        end = next;
        links += 1;
    }
    (links > 0).then_some(end)
}

/// The end of the quoted string or `chr(N)` call starting at `start`.
fn piece_at(data: &[u8], start: usize) -> Option<usize> {
    match *data.get(start)? {
        quote @ (b'\'' | b'"') => {
            let mut at = start + 1;
            let mut units = 0;
            loop {
                match *data.get(at)? {
                    byte if byte == quote => return Some(at + 1),
                    _ if units == MAX_PIECE_UNITS => return None,
                    b'\n' => return None,
                    b'\\' if data.get(at + 1).is_none_or(|&next| next == b'\n') => return None,
                    b'\\' => at += 2,
                    _ => at += 1,
                }
                units += 1;
            }
        }
        _ => {
            if !data.get(start..start + 3)?.eq_ignore_ascii_case(b"chr") {
                return None;
            }
            let open = skip_blanks(data, start + 3);
            if data.get(open) != Some(&b'(') {
                return None;
            }
            let number = skip_blanks(data, open + 1);
            let hex = data
                .get(number..number + 2)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"0x"));
            let (digits_start, max_digits, is_digit): (usize, usize, fn(&u8) -> bool) = if hex {
                (number + 2, 2, u8::is_ascii_hexdigit)
            } else {
                (number, 3, u8::is_ascii_digit)
            };
            let digits = data
                .get(digits_start..)
                .unwrap_or_default()
                .iter()
                .take(max_digits)
                .take_while(|byte| is_digit(byte))
                .count();
            if digits == 0 {
                return None;
            }
            let close = skip_blanks(data, digits_start + digits);
            (data.get(close) == Some(&b')')).then_some(close + 1)
        }
    }
}

/// The first position at or after `at` that is not a regex `\s` byte (ASCII blank).
fn skip_blanks(data: &[u8], at: usize) -> usize {
    let blanks = data
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&byte| is_blank(byte))
        .count();
    at + blanks
}

/// A regex `\s` byte without Unicode: space, tab, line feed, carriage return, VT, FF.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Joins a PHP chain of string literals and `chr()` calls into the string it builds.
fn decode_php_chain(chain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&byte) = chain.get(i) {
        match byte {
            b'\'' | b'"' => {
                let mut j = i + 1;
                let mut piece = Vec::new();
                while let Some(&c) = chain.get(j) {
                    if c == byte {
                        break;
                    }
                    if c == b'\\' {
                        piece.push(c);
                        j += 1;
                        if let Some(&escaped) = chain.get(j) {
                            piece.push(escaped);
                        }
                    } else {
                        piece.push(c);
                    }
                    j += 1;
                }
                if byte == b'"' {
                    out.extend(decode_php_double_quoted(&piece));
                } else {
                    out.extend(piece.iter().filter(|&&c| c != b'\\'));
                }
                i = j + 1;
            }
            b'c' | b'C' => {
                let rest = chain.get(i..).unwrap_or_default();
                let open = memchr::memchr(b'(', rest).unwrap_or(0);
                let close = memchr::memchr(b')', rest).unwrap_or(rest.len());
                let number = String::from_utf8_lossy(rest.get(open + 1..close).unwrap_or_default())
                    .trim()
                    .to_ascii_lowercase();
                let value = match number.strip_prefix("0x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => number.parse::<u32>().ok(),
                };
                if let Some(code) = value.and_then(|v| u8::try_from(v % 256).ok()) {
                    out.push(code);
                }
                i += close + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Decodes `\xNN`, octal and simple escapes of a PHP double-quoted string.
fn decode_php_double_quoted(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&byte) = text.get(i) {
        if byte != b'\\' {
            out.push(byte);
            i += 1;
            continue;
        }
        let next = text.get(i + 1).copied();
        match next {
            Some(b'x') | Some(b'X') => {
                let digits: Vec<u8> = text
                    .get(i + 2..)
                    .unwrap_or_default()
                    .iter()
                    .take(2)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .copied()
                    .collect();
                let value = u8::from_str_radix(&String::from_utf8_lossy(&digits), 16).ok();
                match value {
                    Some(v) => out.push(v),
                    None => out.extend_from_slice(b"\\x"),
                }
                i += 2 + digits.len();
            }
            Some(b'0'..=b'7') => {
                let digits: Vec<u8> = text
                    .get(i + 1..)
                    .unwrap_or_default()
                    .iter()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(b))
                    .copied()
                    .collect();
                let value = u32::from_str_radix(&String::from_utf8_lossy(&digits), 8).unwrap_or(0);
                out.push(u8::try_from(value % 256).unwrap_or(0));
                i += 1 + digits.len();
            }
            Some(other) => {
                out.push(other);
                i += 2;
            }
            None => i += 1,
        }
    }
    out
}

/// How a name was hidden.
#[derive(Debug, Clone, Copy)]
enum Hiding {
    Pieces,
    Escapes,
    Junk,
    Encoded,
}

fn rot13(byte: u8) -> u8 {
    match byte {
        b'a'..=b'm' | b'A'..=b'M' => byte + 13,
        b'n'..=b'z' | b'N'..=b'Z' => byte - 13,
        _ => byte,
    }
}

/// Decodes standard base64, ignoring padding and anything outside the alphabet.
fn decode_base64(text: &[u8]) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for v in text.iter().filter_map(|&c| value(c)) {
        buffer = (buffer << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or(0));
        }
    }
    out
}

/// `subject` with every occurrence of `junk` removed.
fn remove_all(subject: &[u8], junk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(subject.len());
    let mut rest = subject;
    while let Some(at) = memmem::find(rest, junk) {
        out.extend_from_slice(rest.get(..at).unwrap_or_default());
        rest = rest.get(at + junk.len()..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out
}

/// Is the decoded text a dangerous function or superglobal name that was hidden?
fn classify_hidden(decoded: &[u8], offset: usize, hiding: Hiding) -> Option<HeuristicHit> {
    let text = String::from_utf8_lossy(decoded).trim().to_ascii_lowercase();
    if DANGEROUS_NAMES.contains(&text.as_str()) {
        return Some(HeuristicHit {
            name: "hidden_function_name",
            description: match hiding {
                Hiding::Pieces => "dangerous function name assembled from pieces or chr() codes",
                Hiding::Escapes => "dangerous function name written with escape sequences",
                Hiding::Junk => {
                    "dangerous function name revealed by str_replace of junk characters"
                }
                Hiding::Encoded => {
                    "dangerous function name stored base64-, rot13- or reverse-encoded"
                }
            },
            score: 70,
            offset: Some(offset),
        });
    }
    if SUPERGLOBALS.contains(&text.as_str()) {
        return Some(HeuristicHit {
            name: "hidden_superglobal",
            description: "request superglobal name assembled or escaped",
            score: 45,
            offset: Some(offset),
        });
    }
    None
}

/// Shannon entropy in bits per byte.
pub fn entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &byte in data {
        if let Some(slot) = counts.get_mut(usize::from(byte)) {
            *slot += 1;
        }
    }
    // Lossless enough for entropy: lengths stay far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let total = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            #[allow(clippy::cast_precision_loss)]
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Bytes of standard base64 (with padding), as a table for the run scan.
static BASE64_ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=';
        byte += 1;
    }
    table
};

/// One pass over the text: longest base64 run, longest `\xNN` run, longest line.
#[derive(Debug, Default)]
struct TextStats {
    longest_b64_run: usize,
    longest_b64_start: usize,
    longest_hex_escape_run: usize,
    longest_hex_escape_start: usize,
    longest_line: usize,
    longest_line_start: usize,
}

impl TextStats {
    fn of(data: &[u8]) -> TextStats {
        let mut stats = TextStats::default();
        let mut run_start = 0;
        for run in data.split(|&byte| !BASE64_ALPHABET[usize::from(byte)]) {
            if run.len() > stats.longest_b64_run {
                stats.longest_b64_run = run.len();
                stats.longest_b64_start = run_start;
            }
            run_start += run.len() + 1;
        }
        let mut line_start = 0;
        for end in memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())) {
            if end - line_start > stats.longest_line {
                stats.longest_line = end - line_start;
                stats.longest_line_start = line_start;
            }
            line_start = end + 1;
        }
        // Runs of \xNN escapes: only backslashes can start one, so jump between them; a run
        // ends at any other byte.
        let mut run = 0;
        let mut start = 0;
        let mut i = 0;
        while let Some(&byte) = data.get(i) {
            if byte != b'\\' {
                run = 0;
                match memchr::memchr(b'\\', data.get(i..).unwrap_or_default()) {
                    Some(offset) => i += offset,
                    None => break,
                }
                continue;
            }
            let escape = byte == b'\\'
                && data.get(i + 1) == Some(&b'x')
                && data.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if escape {
                if run == 0 {
                    start = i;
                }
                run += 1;
                i += 3;
                while data.get(i).is_some_and(u8::is_ascii_hexdigit) && i < start + run * 4 {
                    i += 1;
                }
                if run > stats.longest_hex_escape_run {
                    stats.longest_hex_escape_run = run;
                    stats.longest_hex_escape_start = start;
                }
            } else {
                run = 0;
                i += 1;
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(language: Language) -> FileKind {
        FileKind {
            language,
            by_extension: language,
            inert_extension: false,
        }
    }

    /// Runs the heuristics and returns (name, score) of each hit.
    fn check(language: Language, code: &str, expected: &[(&str, u32)]) {
        let heuristics = Heuristics::new();
        let got: Vec<(&str, u32)> = heuristics
            .run(kind(language), code.as_bytes())
            .iter()
            .map(|hit| (hit.name, hit.score))
            .collect();
        assert_eq!(got, expected, "{code}");
    }

    #[test]
    fn php_taint() {
        check(
            Language::Php,
            "<?php $c = $_POST['c']; system($c);",
            &[("request_input_to_sink", 85)],
        );
        check(
            Language::Php,
            "<?php $c = $_POST['c']; $d = base64_decode($c); eval($d);",
            &[("request_input_to_sink", 85)],
        );
        check(
            Language::Php,
            "<?php $f = $_GET['f']; $f($_GET['a']);",
            &[("request_chosen_function", 90)],
        );
        check(
            Language::Php,
            "<?php foreach ($_POST as $k => $v) { $v($k); }",
            &[("request_chosen_function", 90)],
        );
        // Sanitised or unrelated: nothing.
        check(
            Language::Php,
            "<?php $c = escapeshellarg($_POST['c']); system('ls ' . $c);",
            &[],
        );
        check(
            Language::Php,
            "<?php $id = intval($_GET['id']); $x = 'ls'; system($x);",
            &[],
        );
        check(
            Language::Php,
            "<?php $ids = $_POST['ids']; $ids = array_map('intval', $ids);",
            &[],
        );
        check(Language::Php, "<?php $m = $_GET['m']; $this->$m();", &[]);
        check(
            Language::Php,
            "<?php $out = exec('uptime', $lines); echo $_GET['x'];",
            &[],
        );
    }

    #[test]
    fn other_languages_taint() {
        check(
            Language::Jsp,
            "<% String c = request.getParameter(\"c\"); Process p = Runtime.getRuntime().exec(c); %>",
            &[("request_input_to_sink", 85)],
        );
        check(
            Language::Asp,
            "<% string c = Request.Form[\"c\"]; var psi = new ProcessStartInfo(); psi.Arguments = \"/c \" + c; %>",
            &[("request_input_to_sink", 85)],
        );
        check(
            Language::Cgi,
            "#!/usr/bin/perl\nuse CGI; my $q = CGI->new; my $c = $q->param('c');\nprint `$c`;\n",
            &[("request_input_to_sink", 80)],
        );
        check(
            Language::Cgi,
            "#!/usr/bin/python3\nimport cgi, os\nform = cgi.FieldStorage()\nc = form.getvalue('c')\nos.popen(c).read()\n",
            &[("request_input_to_sink", 85)],
        );
        check(
            Language::Jsp,
            "<% String n = request.getParameter(\"n\"); out.println(n); %>",
            &[],
        );
    }

    #[test]
    fn hidden_names() {
        check(
            Language::Php,
            "<?php $f = 'as'.'se'.'rt'; $f(1);",
            &[("hidden_function_name", 70)],
        );
        check(
            Language::Php,
            "<?php $f = chr(101).chr(118).chr(97).chr(108);",
            &[("hidden_function_name", 70)],
        );
        check(
            Language::Php,
            "<?php $f = \"\\x62\\x61\\x73\\x65\\x36\\x34\\x5f\\x64\\x65\\x63\\x6f\\x64\\x65\";",
            &[("hidden_function_name", 70)],
        );
        check(
            Language::Php,
            "<?php $g = '_'.'PO'.'ST';",
            &[("hidden_superglobal", 45)],
        );
        check(
            Language::Php,
            "<?php $k = \"\\x61\\x73\\x73\\x65\\x72\\x74\"; $k(${'_PO'.'ST'}[1]);",
            &[("hidden_superglobal", 45), ("hidden_function_name", 70)],
        );
        check(
            Language::Php,
            "<?php $m = str_replace('q', '', 'bqaqsqeq6q4q_qdqeqcqoqdqe');",
            &[("hidden_function_name", 70)],
        );
        check(
            Language::Php,
            "<?php $s = str_replace('-', '', 'phone-number');",
            &[],
        );
        check(
            Language::Php,
            "<?php $a = base64_decode(\"YXNzZXJ0\"); $a($_POST['x']);",
            &[("hidden_function_name", 70)],
        );
        check(
            Language::Php,
            "<?php $a = str_rot13('flfgrz');",
            &[("hidden_function_name", 70)],
        );
        check(Language::Php, "<?php $a = base64_decode('aGVsbG8=');", &[]);
        check(
            Language::Php,
            "<?php $a = 'Hello ' . 'world'; $b = \"\\n\";",
            &[],
        );
    }

    #[test]
    fn encoded_payloads() {
        let blob: String = (0..3000u32)
            .map(|i| {
                char::from(
                    b"Zm9vYmFyYmF6cXV4QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkw"
                        [(i * 7 % 60) as usize],
                )
            })
            .collect();
        let code = format!("<?php eval(gzinflate(base64_decode('{blob}')));");
        let got: Vec<&str> = Heuristics::new()
            .run(kind(Language::Php), code.as_bytes())
            .iter()
            .map(|h| h.name)
            .collect();
        assert!(got.contains(&"encoded_blob"), "{got:?}");
        check(Language::None, &code, &[]);
    }

    /// The regex `literal_chains` stands in for; both must find the same chains.
    const LITERAL_CHAIN: &str = r#"(?i)(?:'(?:[^'\\\n]|\\.){0,40}'|"(?:[^"\\\n]|\\.){0,40}"|chr\s*\(\s*(?:0x[0-9a-f]{1,2}|\d{1,3})\s*\))(?:\s*\.\s*(?:'(?:[^'\\\n]|\\.){0,40}'|"(?:[^"\\\n]|\\.){0,40}"|chr\s*\(\s*(?:0x[0-9a-f]{1,2}|\d{1,3})\s*\))){1,40}"#;

    fn check_chains(text: &[u8], expected: Option<&[&str]>) {
        let by_regex: Vec<std::ops::Range<usize>> = regex(LITERAL_CHAIN)
            .find_iter(text)
            .map(|m| m.range())
            .collect();
        let by_hand = literal_chains(text);
        assert_eq!(by_hand, by_regex, "{:?}", String::from_utf8_lossy(text));
        if let Some(expected) = expected {
            let found: Vec<String> = by_hand
                .iter()
                .map(|range| String::from_utf8_lossy(&text[range.clone()]).into_owned())
                .collect();
            assert_eq!(found, expected, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn literal_chains_match_the_regex() {
        let forty = "x".repeat(40);
        let forty_one = "x".repeat(41);
        let long_chain = vec!["'a'"; 45].join(".");
        let table: Vec<(String, Option<Vec<&str>>)> = vec![
            (
                "$f = 'as'.'se'.\"rt\";".into(),
                Some(vec!["'as'.'se'.\"rt\""]),
            ),
            (
                "chr(101) . CHR( 0x76 ).chr(97)".into(),
                Some(vec!["chr(101) . CHR( 0x76 ).chr(97)"]),
            ),
            ("'a' . $b . 'c'".into(), Some(vec![])),
            ("'a'\n.\n'b'".into(), Some(vec!["'a'\n.\n'b'"])),
            ("'it\\'s' . 'x'".into(), Some(vec!["'it\\'s' . 'x'"])),
            ("'a\\\n' . 'b'".into(), None),
            ("chr(0x123) . 'a'".into(), Some(vec![])),
            ("chr(1234).'a'".into(), Some(vec![])),
            ("chr(0x).'a'".into(), Some(vec![])),
            ("chr(12).'a'.".into(), Some(vec!["chr(12).'a'"])),
            (format!("'{forty}'.'b'"), None),
            (format!("'{forty_one}'.'b'"), None),
            (long_chain, None),
            ("echo 'x' . 'y' . \"z\" ; $a = 'p'.\"q\"".into(), None),
            ("'unterminated . 'a'".into(), None),
            ("\"\\x61\" . '\\'' . chr(9) . \"\"".into(), None),
            ("'a'.'b".into(), None),
            ("c".into(), Some(vec![])),
            (
                "x = chr (65).'a'; y = (chr(66)).chr(67)".into(),
                Some(vec!["chr (65).'a'"]),
            ),
            ("achr(65).'b' (( chr\t( 0X4a ) . chr(9)".into(), None),
            (
                "'(' . \"(\" . chr(40)".into(),
                Some(vec!["'(' . \"(\" . chr(40)"]),
            ),
            ("hr(65).'a' chR(1).'x'".into(), Some(vec!["chR(1).'x'"])),
            ("'".into(), Some(vec![])),
        ];
        for (text, expected) in &table {
            check_chains(text.as_bytes(), expected.as_deref());
        }
        // And the shipped samples, benign and malicious.
        let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
        for kind in ["benign", "malicious"] {
            let dir = format!("{data}/{kind}");
            let entries = std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{dir}: {err}"));
            for entry in entries {
                let path = entry.unwrap().path();
                check_chains(&std::fs::read(&path).unwrap(), None);
            }
        }
    }

    #[test]
    fn text_stats() {
        let check = |text: &str, b64: (usize, usize), hex: (usize, usize), line: (usize, usize)| {
            let stats = TextStats::of(text.as_bytes());
            assert_eq!(
                (stats.longest_b64_run, stats.longest_b64_start),
                b64,
                "base64 run of {text:?}"
            );
            assert_eq!(
                (stats.longest_hex_escape_run, stats.longest_hex_escape_start),
                hex,
                "hex escapes of {text:?}"
            );
            assert_eq!(
                (stats.longest_line, stats.longest_line_start),
                line,
                "longest line of {text:?}"
            );
        };
        check("", (0, 0), (0, 0), (0, 0));
        check("ab cdef gh", (4, 3), (0, 0), (10, 0));
        check("x\nab+/=\ncd", (5, 2), (0, 0), (5, 2));
        check("\\x41\\x4\\x42 \\x43", (3, 1), (3, 0), (16, 0));
        check("\\\\x41\\x42\\x43", (3, 2), (3, 1), (13, 0));
        check("\\x4g\\x41\\", (3, 1), (1, 0), (9, 0));
    }

    #[test]
    fn arguments() {
        assert_eq!(nth_argument(b"$a, f($b, $c), 'x,y')", 0), b"$a");
        assert_eq!(nth_argument(b"$a, f($b, $c), 'x,y')", 1), b" f($b, $c)");
        assert_eq!(nth_argument(b"$a, f($b, $c), 'x,y')", 2), b" 'x,y'");
        assert_eq!(nth_argument(b"$a)", 3), b"");
    }

    #[test]
    fn entropy_bounds() {
        assert!(entropy(b"aaaa") < 0.01);
        assert!((entropy(&(0..=255).collect::<Vec<u8>>()) - 8.0).abs() < 1e-9);
    }
}

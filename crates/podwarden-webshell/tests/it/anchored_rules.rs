//! The PHP rules rewritten so that yara-x anchors them on rare literals (`extract`,
//! `parse_str`, the bytes after a XOR `^`) still match what they matched before: both orders of
//! extraction and call, any whitespace around the XOR operator, and nothing without the
//! literal they are anchored on.

use podwarden_webshell::Scanner;
use std::path::Path;

/// Scans `code` as `shell.php` and tells whether rule `rule` is among the hits.
fn check(scanner: &Scanner, rule: &str, code: &str, expected: bool) {
    let detection = scanner.scan_bytes(Path::new("shell.php"), code.as_bytes());
    let rules: Vec<&str> = detection
        .as_ref()
        .map(|d| d.rules.iter().map(|hit| hit.name.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        rules.contains(&rule),
        expected,
        "{rule} on {code:?}: hits {rules:?}"
    );
}

#[test]
fn anchored_rules_keep_their_matches() {
    let scanner = Scanner::new(&[]).unwrap();
    let filler = "// padding line for the distance between the two halves\n".repeat(40);
    let extract = "php_extract_request_then_call";
    let xor = "php_xor_built_names";
    let decrypt = "php_decrypt_request_then_eval";
    let table: Vec<(&str, String, bool)> = vec![
        (extract, "<?php\nextract($_REQUEST);\n@$a($b);\n".into(), true),
        (extract, "<?php\nEXTRACT ( $_POST );\n$f( $x );\n".into(), true),
        (extract, "<?php\nparse_str($_SERVER['QUERY_STRING']);\n$f($g);\n".into(), true),
        (extract, format!("<?php\nextract($_GET);\n{filler}${{a}}($b);\n"), true),
        // The call written before the extraction (a helper defined first).
        (extract, format!("<?php\nfunction run($f, $x) {{ return $f($x); }}\n{filler}extract($_COOKIE); run($a, $b);\n"), true),
        (extract, "<?php\nextract($_POST);\necho $a;\n".into(), false),
        (extract, "<?php\nextract($row);\n$f($x);\n".into(), false),
        (extract, "<?php\n$callback($args);\n".into(), false),
        (xor, "<?php\n$_ = \"{\";\n$_ = ($_ ^ \"<\") . ($_ ^ \">;\");\n".into(), true),
        (xor, "<?php\n$_ = ($_^'<') . ($__\t^\t\t'>;');\n".into(), true),
        (xor, "<?php\n$x = ('aa'^\"bb\") . (\"c\" ^ 'd') . ('e'  ^\n  'f');\n".into(), true),
        (xor, "<?php\n$x = ('aa'^\"bb\") . (\"c\" ^ 'd');\n".into(), false),
        (xor, "<?php\n$flags = $a ^ $b ^ $c;\n$bits = ($_ ^ $mask);\n".into(), false),
        (decrypt, "<?php\n$d = file_get_contents('php://input');\nfor ($i = 0; $i < strlen($d); $i++) { $d[$i] = $d[$i] ^ $k; }\neval($d);\n".into(), true),
        (decrypt, "<?php\n$d = $_POST['x'];\nfor ($i = 0; $i < strlen($d); $i++) { $d[$i] = $d[$i]\t^\n $k; }\neval($d);\n".into(), true),
        (decrypt, "<?php\n$d = $_POST['x'];\nfor ($i = 0; $i < strlen($d); $i++) { $o .= $d[$i]^$k[$i+1&15]; }\n@eval($o);\n".into(), true),
        (decrypt, "<?php\n$d = $_POST['x'];\nfor ($i = 0; $i < strlen($d); $i++) { $d[$i] = $d[$i] + $k; }\neval($d);\n".into(), false),
    ];
    for (rule, code, expected) in &table {
        check(&scanner, rule, code, *expected);
    }
}

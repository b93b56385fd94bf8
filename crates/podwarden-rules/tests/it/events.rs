//! Events as JSON lines: every kind round-trips; malformed lines are reported by number.

use crate::support::*;
use podwarden_api::event::{Event, EventParseError, L4Protocol, parse_json_lines};

#[test]
fn every_event_kind_round_trips_through_json_lines() {
    let events: Vec<Event> = vec![
        exec("/bin/bash", &["bash", "-i"])
            .parent("/usr/bin/node", &["node", "a.js"])
            .container("app:1")
            .privileged()
            .stdio_on_socket("203.0.113.7:4444")
            .caps(1 << 21)
            .build(),
        exit("/bin/sh", &["sh"]).build(),
        connect("/usr/bin/curl", &["curl"], "[2001:db8::1]:443").build(),
        accept(
            "/usr/sbin/nginx",
            &["nginx"],
            "10.1.2.3:443",
            "198.51.100.1:5000",
        )
        .build(),
        listen("/usr/sbin/nginx", &["nginx"], "0.0.0.0:80", L4Protocol::Tcp).build(),
        packet_socket("/usr/sbin/tcpdump", &["tcpdump"]).build(),
        file_created("/usr/sbin/php-fpm", &["php-fpm"], "/var/www/x.php").build(),
        file_modified("/bin/sh", &["sh"], "/etc/passwd").build(),
        file_renamed("/bin/mv", &["mv"], "/tmp/a", "/var/www/a.php").build(),
        stdio_socket("/bin/sh", &["sh"], 2, "203.0.113.7:4444").build(),
        ptrace("/usr/sbin/sshd", &["sshd"], "gdb").memfd().build(),
    ];
    let text: String = events.iter().map(|e| e.to_json_line() + "\n").collect();
    let parsed: Vec<Event> = parse_json_lines(&text)
        .map(|(line, result)| result.unwrap_or_else(|err| panic!("line {line}: {err}")))
        .collect();
    assert_eq!(parsed, events);
}

#[test]
fn the_wire_shape_is_flat_and_tagged() {
    let line = r#"{"v":1,"id":7,"ts":1700000000000000000,"kind":"connection","container":{"id":"abc","pod":"web-0","namespace":"shop"},"process":{"pid":10,"name":"curl","exe":"/usr/bin/curl","argv":["curl"],"uid":0,"gid":0},"connection":{"protocol":"tcp","local":"10.0.0.2:40000","remote":"203.0.113.9:443","state":"established","direction":"outbound"}}"#;
    let event = Event::from_json_line(line).unwrap_or_else(|err| panic!("{err}"));
    let back: serde_json::Value = serde_json::from_str(&event.to_json_line()).unwrap_or_default();
    let original: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    assert_eq!(back, original);
}

#[test]
fn malformed_lines_are_numbered() {
    let good = exec("/bin/sh", &["sh"]).build().to_json_line();
    let text = format!(
        "{good}\n\nnot json\n{{\"v\":9,\"id\":1,\"ts\":1,\"kind\":\"process_exit\",\"process\":{{\"pid\":1,\"name\":\"x\",\"uid\":0,\"gid\":0}}}}\n{{\"id\":1,\"ts\":1,\"kind\":\"teleport\"}}\n{good}\n"
    );
    let results: Vec<(usize, &str)> = parse_json_lines(&text)
        .map(|(line, result)| {
            let verdict = match result {
                Ok(_) => "ok",
                Err(EventParseError::Version(_)) => "version",
                Err(EventParseError::Json(_)) => "json",
            };
            (line, verdict)
        })
        .collect();
    assert_eq!(
        results,
        [
            (1, "ok"),
            (3, "json"),
            (4, "version"),
            (5, "json"),
            (6, "ok")
        ]
    );
}

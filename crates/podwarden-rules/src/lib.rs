//! Runtime detection rules: Falco-format rule files and Podwarden's own rules, compiled once.

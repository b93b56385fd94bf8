//! Webshell content scanner: YARA rules (yara-x) plus heuristics over web code.

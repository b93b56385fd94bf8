-- Findings and their handling (SQLite flavour; kept in lock-step with ../postgres/0003_findings.sql):
-- detections de-duplicated per agent, alerts aggregated per asset and evidence key, handling
-- records, whitelists, commands' results, uploads, inventories, vulnerability findings,
-- baseline risks, scan settings. Times are Unix milliseconds, JSON is TEXT, flags are 0/1.

CREATE TABLE detections (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    asset_id INTEGER NOT NULL,
    detection_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (tenant_id, agent_id, detection_id)
);
CREATE INDEX detections_received ON detections(tenant_id, received_at);

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    dedup_key TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    description TEXT NOT NULL,
    advice TEXT,
    container TEXT NOT NULL DEFAULT '',
    process_exe TEXT,
    process_cmdline TEXT,
    remote TEXT,
    file_path TEXT,
    file_sha256 TEXT,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL,
    is_open INTEGER NOT NULL,
    occurrences INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    closed_at INTEGER
);
CREATE UNIQUE INDEX alerts_open_key ON alerts(tenant_id, asset_id, dedup_key) WHERE is_open = 1;
CREATE INDEX alerts_tenant_last_seen ON alerts(tenant_id, last_seen);
CREATE INDEX alerts_tenant_open_last_seen ON alerts(tenant_id, is_open, last_seen);
CREATE INDEX alerts_tenant_asset_last_seen ON alerts(tenant_id, asset_id, last_seen);
CREATE INDEX alerts_tenant_facets ON alerts(tenant_id, is_open, severity, alert_type, status);

CREATE TABLE alert_whitelist (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER REFERENCES assets(id),
    dedup_key TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    match_summary TEXT NOT NULL DEFAULT '{}',
    note TEXT NOT NULL DEFAULT '',
    source_alert_id INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    suppressed_count INTEGER NOT NULL DEFAULT 0,
    last_suppressed_at INTEGER
);
CREATE INDEX alert_whitelist_key ON alert_whitelist(tenant_id, dedup_key);

CREATE TABLE alert_handlings (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    method TEXT NOT NULL,
    scope TEXT,
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at INTEGER NOT NULL,
    whitelist_id INTEGER,
    outcome TEXT NOT NULL,
    result_message TEXT,
    result_at INTEGER
);
CREATE INDEX alert_handlings_alert ON alert_handlings(tenant_id, alert_id);

ALTER TABLE agent_commands ADD COLUMN alert_id INTEGER;
ALTER TABLE agent_commands ADD COLUMN handling_id INTEGER;
ALTER TABLE agent_commands ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_commands ADD COLUMN delivered_at INTEGER;
ALTER TABLE agent_commands ADD COLUMN finished_at INTEGER;
ALTER TABLE agent_commands ADD COLUMN result TEXT;
CREATE INDEX agent_commands_handling ON agent_commands(tenant_id, handling_id);
CREATE INDEX agent_commands_status ON agent_commands(status, updated_at);

CREATE TABLE agent_uploads (
    tenant_id INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    asset_id INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, kind, upload_id)
);
CREATE INDEX agent_uploads_received ON agent_uploads(tenant_id, received_at);

CREATE TABLE agent_losses (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    agent_id INTEGER NOT NULL,
    info INTEGER NOT NULL,
    low INTEGER NOT NULL,
    medium INTEGER NOT NULL,
    high INTEGER NOT NULL,
    critical INTEGER NOT NULL,
    from_ts INTEGER NOT NULL,
    to_ts INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (tenant_id, agent_id, from_ts, to_ts)
);
CREATE INDEX agent_losses_asset ON agent_losses(tenant_id, asset_id, id);

CREATE TABLE agent_status (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    agent_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    reported_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, asset_id)
);

CREATE TABLE unprotected_drops (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    dropped INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, kind, reason)
);

CREATE TABLE inventories (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    container TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    scanned_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    image TEXT,
    os TEXT,
    package_count INTEGER NOT NULL,
    unmatched_count INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]',
    packages TEXT NOT NULL,
    matched_at INTEGER,
    matched_db TEXT,
    UNIQUE (tenant_id, asset_id, container)
);

CREATE TABLE vuln_findings (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    container TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    location TEXT NOT NULL,
    purl TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    cvss_score10 INTEGER,
    fixed_version TEXT,
    fixed_versions TEXT NOT NULL DEFAULT '[]',
    remediation TEXT NOT NULL,
    url TEXT,
    whitelisted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (tenant_id, asset_id, container, ecosystem, package, version, location, advisory_id)
);
CREATE INDEX vuln_findings_tenant_advisory ON vuln_findings(tenant_id, advisory_id);
CREATE INDEX vuln_findings_tenant_asset ON vuln_findings(tenant_id, asset_id, whitelisted);

CREATE TABLE vuln_whitelist (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    advisory_id TEXT NOT NULL,
    asset_id INTEGER REFERENCES assets(id),
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX vuln_whitelist_tenant ON vuln_whitelist(tenant_id, advisory_id);

CREATE TABLE baseline_risks (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    container TEXT NOT NULL DEFAULT '',
    check_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    level TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    rationale TEXT NOT NULL DEFAULT '',
    remediation TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    fix TEXT,
    no_fix_reason TEXT,
    exemption TEXT,
    whitelisted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (tenant_id, asset_id, container, check_id, path)
);
CREATE INDEX baseline_risks_tenant_check ON baseline_risks(tenant_id, check_id);
CREATE INDEX baseline_risks_tenant_asset ON baseline_risks(tenant_id, asset_id, whitelisted);

CREATE TABLE baseline_whitelist (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    check_id TEXT NOT NULL,
    asset_id INTEGER REFERENCES assets(id),
    reason TEXT NOT NULL,
    source_risk_id INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX baseline_whitelist_tenant ON baseline_whitelist(tenant_id, check_id);

CREATE TABLE scan_settings (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    vulnerability_interval_hours INTEGER NOT NULL,
    baseline_interval_hours INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE assets ADD COLUMN pod_spec TEXT;
ALTER TABLE assets ADD COLUMN pod_spec_source TEXT;
ALTER TABLE assets ADD COLUMN pod_spec_observed_at INTEGER;
CREATE INDEX assets_tenant_risk ON assets(tenant_id, alert_count, vulnerability_count, baseline_risk_count);

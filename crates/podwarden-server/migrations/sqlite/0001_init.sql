-- Podwarden center schema, SQLite flavour. Kept in lock-step with ../postgres/0001_init.sql:
-- the same tables, columns and indexes. Times are INTEGER Unix milliseconds, JSON is TEXT,
-- flags are INTEGER 0/1.

CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    is_operator INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_tenant ON api_tokens(tenant_id);

CREATE TABLE enrollment_tokens (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX enrollment_tokens_tenant ON enrollment_tokens(tenant_id);

CREATE TABLE protection (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    enabled INTEGER NOT NULL DEFAULT 0,
    paused INTEGER NOT NULL DEFAULT 0,
    overdue INTEGER NOT NULL DEFAULT 0,
    auto_add INTEGER NOT NULL DEFAULT 0,
    ever_enabled INTEGER NOT NULL DEFAULT 0,
    price_nano INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    source TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    instance_type TEXT NOT NULL,
    cluster TEXT NOT NULL DEFAULT '',
    namespace TEXT NOT NULL DEFAULT '',
    pod_name TEXT NOT NULL,
    pod_uid TEXT NOT NULL,
    owner_kind TEXT,
    owner_name TEXT,
    node_name TEXT,
    runtime_class TEXT,
    images TEXT NOT NULL DEFAULT '[]',
    cpu_limit_millicores INTEGER,
    cpu_request_millicores INTEGER,
    effective_millicores INTEGER NOT NULL,
    annotations TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    restart_count INTEGER NOT NULL DEFAULT 0,
    pod_created_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    gone_at INTEGER,
    bound INTEGER NOT NULL DEFAULT 0,
    previously_bound INTEGER NOT NULL DEFAULT 0,
    protectable TEXT NOT NULL,
    protectable_reason TEXT,
    agent_id INTEGER,
    agent_version TEXT,
    agent_mode TEXT,
    last_heartbeat_at INTEGER,
    online_since INTEGER,
    accrued_until INTEGER NOT NULL,
    last_vulnerability_scan_at INTEGER,
    last_baseline_check_at INTEGER,
    alert_count INTEGER NOT NULL DEFAULT 0,
    vulnerability_count INTEGER NOT NULL DEFAULT 0,
    baseline_risk_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, pod_uid)
);
CREATE INDEX assets_tenant_source ON assets(tenant_id, source);
CREATE INDEX assets_tenant_heartbeat ON assets(tenant_id, last_heartbeat_at);

CREATE TABLE agents (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    credential_hash TEXT NOT NULL UNIQUE,
    enrollment_token_id INTEGER NOT NULL REFERENCES enrollment_tokens(id),
    agent_version TEXT NOT NULL,
    mode TEXT NOT NULL,
    hostname TEXT NOT NULL DEFAULT '',
    container_id TEXT NOT NULL DEFAULT '',
    cluster_hint TEXT NOT NULL DEFAULT '',
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX agents_tenant_asset ON agents(tenant_id, asset_id);

CREATE TABLE agent_commands (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX agent_commands_asset_status ON agent_commands(tenant_id, asset_id, status);

CREATE TABLE usage_daily (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    day TEXT NOT NULL,
    price_nano INTEGER NOT NULL,
    seconds INTEGER NOT NULL DEFAULT 0,
    millicore_seconds INTEGER NOT NULL DEFAULT 0,
    cost_pico INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, asset_id, day, price_nano)
);
CREATE INDEX usage_daily_tenant_day ON usage_daily(tenant_id, day);

CREATE TABLE bills (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    day TEXT NOT NULL,
    timezone TEXT NOT NULL,
    asset_count INTEGER NOT NULL,
    seconds INTEGER NOT NULL,
    millicore_seconds INTEGER NOT NULL,
    cost_pico INTEGER NOT NULL,
    closed_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant ON audit_log(tenant_id, id);

-- Kubernetes clusters as asset sources (SQLite flavour; in lock-step with
-- ../postgres/0002_clusters.sql). The kubeconfig is sealed (AES-256-GCM under the server's
-- key file); server URL, context and kind of authentication are kept in clear for display.
-- Sync status: `sync_started_at` is set while a sync runs (NULL when idle), the `last_*`
-- columns describe the last finished sync. AUTOINCREMENT: ids are never reused, so the
-- `cluster:<id>` source of a deleted cluster's gone assets never names a new cluster.

CREATE TABLE clusters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    kubeconfig_sealed TEXT NOT NULL,
    server_url TEXT NOT NULL,
    context_name TEXT NOT NULL,
    auth_kind TEXT NOT NULL,
    insecure_skip_tls_verify INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    sync_started_at INTEGER,
    sync_progress_pods INTEGER,
    last_sync_at INTEGER,
    last_sync_ms INTEGER,
    last_sync_ok INTEGER,
    last_error TEXT,
    last_ok_at INTEGER,
    last_pods INTEGER,
    last_added INTEGER,
    last_updated INTEGER,
    last_gone INTEGER,
    UNIQUE (tenant_id, name)
);

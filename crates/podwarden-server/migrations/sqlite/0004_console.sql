-- Web console: users who sign in with a username and password, and console sessions.
-- SQLite flavour, kept in lock-step with ../postgres/0004_console.sql.
-- Passwords are stored as Argon2id PHC strings; sessions by the SHA-256 of their cookie.

CREATE TABLE console_users (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at INTEGER
);
CREATE INDEX console_users_tenant ON console_users(tenant_id);

CREATE TABLE console_sessions (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    session_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    token_id INTEGER REFERENCES api_tokens(id),
    user_id INTEGER REFERENCES console_users(id),
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions(expires_at);

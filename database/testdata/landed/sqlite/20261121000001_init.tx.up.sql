-- The whole product's schema (SQLite). Times are stored by bun as UTC text
-- ('2006-01-02 15:04:05.999999+00:00'), always written from Go, so no SQL defaults for them.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE users (
    id               INTEGER PRIMARY KEY,
    username         TEXT NOT NULL,
    email            TEXT NOT NULL,
    display_name     TEXT NOT NULL DEFAULT '',
    password_hash    TEXT NOT NULL DEFAULT '',
    role             TEXT NOT NULL DEFAULT 'member',
    level            INTEGER NOT NULL DEFAULT 0,
    badge_count      INTEGER NOT NULL DEFAULT 0,
    topic_count      INTEGER NOT NULL DEFAULT 0,
    post_count       INTEGER NOT NULL DEFAULT 0,
    likes_received   INTEGER NOT NULL DEFAULT 0,
    likes_given      INTEGER NOT NULL DEFAULT 0,
    flags_agreed     INTEGER NOT NULL DEFAULT 0,
    flags_disagreed  INTEGER NOT NULL DEFAULT 0,
    company          TEXT NOT NULL DEFAULT '',
    bio              TEXT NOT NULL DEFAULT '',
    suspended_until  TIMESTAMP,
    suspended_reason TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    last_seen_at     TIMESTAMP,
    deleted_at       TIMESTAMP
);
--bun:split
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
--bun:split
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
--bun:split
CREATE INDEX users_role ON users (role) WHERE role <> 'member';
--bun:split
CREATE INDEX users_suspended_until ON users (suspended_until) WHERE suspended_until IS NOT NULL;
--bun:split
CREATE TABLE identities (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    email            TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX identities_provider_key ON identities (provider, provider_user_id);
--bun:split
CREATE INDEX identities_user ON identities (user_id);
--bun:split
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX sessions_token_key ON sessions (token_hash);
--bun:split
CREATE INDEX sessions_user ON sessions (user_id);
--bun:split
CREATE INDEX sessions_expires ON sessions (expires_at);
--bun:split
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at   TIMESTAMP
);
--bun:split
CREATE UNIQUE INDEX api_tokens_token_key ON api_tokens (token_hash);
--bun:split
CREATE INDEX api_tokens_user ON api_tokens (user_id);
--bun:split
CREATE TABLE categories (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    slug           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    color          TEXT NOT NULL DEFAULT '#3b6ea8',
    position       INTEGER NOT NULL DEFAULT 0,
    archived       BOOLEAN NOT NULL DEFAULT FALSE,
    flag_threshold INTEGER,
    topic_count    INTEGER NOT NULL DEFAULT 0,
    post_count     INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX categories_slug_key ON categories (slug);
--bun:split
CREATE INDEX categories_position ON categories (position, id);
--bun:split
CREATE TABLE topics (
    id                INTEGER PRIMARY KEY,
    category_id       INTEGER NOT NULL REFERENCES categories (id),
    user_id           INTEGER NOT NULL REFERENCES users (id),
    title             TEXT NOT NULL,
    slug              TEXT NOT NULL,
    first_post_id     INTEGER,
    solved_post_id    INTEGER,
    reply_count       INTEGER NOT NULL DEFAULT 0,
    like_count        INTEGER NOT NULL DEFAULT 0,
    view_count        INTEGER NOT NULL DEFAULT 0,
    last_posted_at    TIMESTAMP NOT NULL,
    last_post_user_id INTEGER REFERENCES users (id),
    locked            BOOLEAN NOT NULL DEFAULT FALSE,
    pinned            BOOLEAN NOT NULL DEFAULT FALSE,
    removed_at        TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX topics_latest ON topics (pinned DESC, last_posted_at DESC, id DESC) WHERE removed_at IS NULL;
--bun:split
CREATE INDEX topics_category_latest ON topics (category_id, pinned DESC, last_posted_at DESC, id DESC) WHERE removed_at IS NULL;
--bun:split
CREATE INDEX topics_unanswered ON topics (created_at DESC, id DESC) WHERE removed_at IS NULL AND reply_count = 0;
--bun:split
CREATE INDEX topics_solved ON topics (last_posted_at DESC, id DESC) WHERE removed_at IS NULL AND solved_post_id IS NOT NULL;
--bun:split
CREATE INDEX topics_top ON topics (like_count DESC, id DESC) WHERE removed_at IS NULL;
--bun:split
CREATE INDEX topics_user ON topics (user_id, created_at DESC);
--bun:split
CREATE TABLE posts (
    id               INTEGER PRIMARY KEY,
    topic_id         INTEGER NOT NULL REFERENCES topics (id),
    user_id          INTEGER NOT NULL REFERENCES users (id),
    post_number      INTEGER NOT NULL,
    reply_to_post_id INTEGER REFERENCES posts (id),
    body             TEXT NOT NULL,
    html             TEXT NOT NULL,
    render_version   INTEGER NOT NULL DEFAULT 0,
    like_count       INTEGER NOT NULL DEFAULT 0,
    revision_count   INTEGER NOT NULL DEFAULT 0,
    edited_at        TIMESTAMP,
    hidden_at        TIMESTAMP,
    removed_at       TIMESTAMP,
    removed_by       INTEGER REFERENCES users (id),
    removed_reason   TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX posts_topic_number_key ON posts (topic_id, post_number);
--bun:split
CREATE INDEX posts_user ON posts (user_id, created_at DESC);
--bun:split
CREATE INDEX posts_created ON posts (created_at);
--bun:split
CREATE INDEX posts_render_version ON posts (render_version);
--bun:split
CREATE TABLE post_revisions (
    id         INTEGER PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    number     INTEGER NOT NULL,
    body       TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX post_revisions_post_number_key ON post_revisions (post_id, number);
--bun:split
CREATE TABLE likes (
    post_id    INTEGER NOT NULL REFERENCES posts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
--bun:split
CREATE INDEX likes_user ON likes (user_id, created_at DESC);
--bun:split
CREATE TABLE topic_views (
    topic_id   INTEGER NOT NULL REFERENCES topics (id),
    viewer     TEXT NOT NULL,
    hour       INTEGER NOT NULL,
    PRIMARY KEY (topic_id, viewer, hour)
);
--bun:split
CREATE INDEX topic_views_hour ON topic_views (hour);
--bun:split
CREATE TABLE flags (
    id            INTEGER PRIMARY KEY,
    post_id       INTEGER NOT NULL REFERENCES posts (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    reason        TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    weight        INTEGER NOT NULL DEFAULT 1,
    level_part    INTEGER NOT NULL DEFAULT 0,
    accuracy_part INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'open',
    outcome       TEXT NOT NULL DEFAULT '',
    resolved_by   INTEGER REFERENCES users (id),
    resolved_at   TIMESTAMP,
    created_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX flags_open_key ON flags (post_id, user_id) WHERE status = 'open';
--bun:split
CREATE INDEX flags_post ON flags (post_id, status);
--bun:split
CREATE INDEX flags_open ON flags (status, created_at) WHERE status = 'open';
--bun:split
CREATE INDEX flags_user ON flags (user_id, created_at DESC);
--bun:split
CREATE TABLE moderation_actions (
    id             INTEGER PRIMARY KEY,
    moderator_id   INTEGER REFERENCES users (id),
    action         TEXT NOT NULL,
    target_type    TEXT NOT NULL,
    target_id      INTEGER NOT NULL,
    target_user_id INTEGER REFERENCES users (id),
    guideline      TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    details        TEXT NOT NULL DEFAULT '{}',
    prev_hash      TEXT NOT NULL DEFAULT '',
    hash           TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX moderation_actions_created ON moderation_actions (created_at DESC, id DESC);
--bun:split
CREATE INDEX moderation_actions_moderator ON moderation_actions (moderator_id, id DESC);
--bun:split
CREATE INDEX moderation_actions_target_user ON moderation_actions (target_user_id, id DESC);
--bun:split
CREATE INDEX moderation_actions_action ON moderation_actions (action, id DESC);
--bun:split
CREATE TABLE suspensions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    moderator_id INTEGER REFERENCES users (id),
    reason       TEXT NOT NULL,
    notified     BOOLEAN NOT NULL DEFAULT FALSE,
    starts_at    TIMESTAMP NOT NULL,
    ends_at      TIMESTAMP,
    lifted_at    TIMESTAMP,
    lifted_by    INTEGER REFERENCES users (id),
    created_at   TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX suspensions_user ON suspensions (user_id, created_at DESC);
--bun:split
CREATE INDEX suspensions_active ON suspensions (ends_at) WHERE lifted_at IS NULL;
--bun:split
CREATE TABLE user_notes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    author_id  INTEGER NOT NULL REFERENCES users (id),
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX user_notes_user ON user_notes (user_id, created_at DESC);
--bun:split
CREATE TABLE badges (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    tier         TEXT NOT NULL DEFAULT 'bronze',
    holder_count INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX badges_name_key ON badges (name);
--bun:split
CREATE TABLE user_badges (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    badge_id   INTEGER NOT NULL REFERENCES badges (id),
    reason     TEXT NOT NULL DEFAULT '',
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, badge_id)
);
--bun:split
CREATE INDEX user_badges_badge ON user_badges (badge_id);
--bun:split
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    topic_id   INTEGER REFERENCES topics (id),
    post_id    INTEGER REFERENCES posts (id),
    message    TEXT NOT NULL DEFAULT '',
    read_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
--bun:split
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;
--bun:split
CREATE TABLE email_preferences (
    user_id           INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    opted_in          BOOLEAN NOT NULL DEFAULT FALSE,
    notify_replies    BOOLEAN NOT NULL DEFAULT TRUE,
    notify_mentions   BOOLEAN NOT NULL DEFAULT TRUE,
    notify_moderation BOOLEAN NOT NULL DEFAULT TRUE,
    digest            TEXT NOT NULL DEFAULT 'never',
    unsubscribe_token TEXT NOT NULL,
    bounce_count      INTEGER NOT NULL DEFAULT 0,
    updated_at        TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX email_preferences_unsubscribe_key ON email_preferences (unsubscribe_token);
--bun:split
CREATE TABLE mail_queue (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX mail_queue_pending ON mail_queue (next_attempt_at) WHERE status = 'pending';
--bun:split
CREATE TABLE search_outbox (
    id           INTEGER PRIMARY KEY,
    entity       TEXT NOT NULL,
    entity_id    INTEGER NOT NULL,
    op           TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    processed_at TIMESTAMP
);
--bun:split
CREATE INDEX search_outbox_pending ON search_outbox (id) WHERE processed_at IS NULL;

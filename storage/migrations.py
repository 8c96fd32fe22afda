"""The schema as an ordered list of steps; `PRAGMA user_version` records how many have been applied.

Append new steps at the end, never edit a released one: a database made by an older version must reach the
current schema by running only the steps it lacks.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: documents, their full-text index of terms, near-duplicate bands, vocabulary for typo/translit help.
    """
    -- AUTOINCREMENT: an id is never reused after a delete, so deep links, buttons and digest cursors
    -- (which rely on ids only growing) never point at another text.
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        url TEXT,
        source_name TEXT,
        published TEXT,
        lang TEXT NOT NULL,
        content_hash TEXT NOT NULL UNIQUE,
        duplicate_of INTEGER REFERENCES documents(id) ON DELETE SET NULL,
        story_id INTEGER,
        hidden INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX documents_published ON documents(published DESC, id DESC);
    CREATE INDEX documents_story ON documents(story_id);
    CREATE INDEX documents_url ON documents(url);
    -- rowid = documents.id; columns hold index terms (lemmas/stems), not the original text.
    CREATE VIRTUAL TABLE doc_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 0');
    CREATE VIRTUAL TABLE doc_fts_vocab USING fts5vocab(doc_fts, 'row');
    CREATE TABLE doc_bands (
        band INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        PRIMARY KEY (band, hash, doc_id)
    ) WITHOUT ROWID;
    CREATE INDEX doc_bands_doc ON doc_bands(doc_id);
    CREATE TABLE doc_features (
        doc_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        minhash BLOB NOT NULL,
        fingerprint TEXT NOT NULL
    );
    -- The strongest fingerprint keys of each document, to find story candidates without scanning.
    CREATE TABLE story_keys (
        key TEXT NOT NULL,
        published TEXT NOT NULL,
        doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        PRIMARY KEY (key, published, doc_id)
    ) WITHOUT ROWID;
    CREATE INDEX story_keys_doc ON story_keys(doc_id);
    CREATE TABLE vocab (
        word TEXT PRIMARY KEY,
        freq INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 2: readers: their interface language, saved search queries (for paging buttons), a search log for /stats.
    """
    CREATE TABLE users (
        user_id INTEGER PRIMARY KEY,
        language TEXT,
        first_name TEXT,
        username TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE TABLE saved_queries (
        id INTEGER PRIMARY KEY,
        query TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE search_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user_id INTEGER,
        query TEXT NOT NULL,
        results INTEGER NOT NULL,
        via TEXT NOT NULL
    );
    CREATE INDEX search_log_at ON search_log(at);
    """,
    # 3: the admins' audit log, and deleted documents kept for a while so that a delete can be undone.
    """
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        admin_id INTEGER NOT NULL,
        action TEXT NOT NULL,
        doc_id INTEGER,
        details TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    CREATE TABLE deleted_documents (
        doc_id INTEGER PRIMARY KEY,
        payload TEXT NOT NULL,
        deleted_at TEXT NOT NULL,
        admin_id INTEGER NOT NULL
    );
    """,
    # 4: texts uploaded by admins waiting in a preview for Save, kept in the database so that the preview's
    # buttons still work after a restart.
    """
    CREATE TABLE pending_uploads (
        id INTEGER PRIMARY KEY,
        admin_id INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        text TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT,
        url TEXT,
        published TEXT,
        lang TEXT,
        source_name TEXT
    );
    CREATE INDEX pending_uploads_created ON pending_uploads(created_at);
    """,
    # 5: digests. A subscription per chat (a person's private chat or a channel) with its schedule, filter
    # and cursor; each digest as sent; the delivery ledger, one row per (digest, chat), whose state is what
    # makes a broadcast resumable after a crash without sending anything twice.
    """
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('person', 'channel')),
        title TEXT NOT NULL DEFAULT '',
        added_by INTEGER,
        language TEXT NOT NULL,
        frequency TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly', 'instant')),
        weekday INTEGER CHECK (weekday BETWEEN 0 AND 6),
        local_time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        filter_query TEXT NOT NULL DEFAULT '',
        paused INTEGER NOT NULL DEFAULT 0,
        active INTEGER NOT NULL DEFAULT 1,
        inactive_reason TEXT,
        -- the highest document id already considered for this chat: its next digest starts after it
        cursor INTEGER NOT NULL DEFAULT 0,
        next_due_utc TEXT,
        last_digest_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX subscriptions_due ON subscriptions(next_due_utc) WHERE active = 1 AND paused = 0;
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        language TEXT NOT NULL,
        filter_query TEXT NOT NULL DEFAULT '',
        cursor_from INTEGER NOT NULL,
        cursor_to INTEGER NOT NULL,
        stories TEXT NOT NULL,
        text TEXT NOT NULL,
        reply_markup TEXT
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL,
        subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        message_id INTEGER,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (digest_id, chat_id)
    );
    CREATE INDEX deliveries_open ON deliveries(id) WHERE state IN ('pending', 'sending');
    CREATE INDEX deliveries_state ON deliveries(state, updated_at);
    """,
    # 6: a delivery whose outcome is unknown (the process stopped before Telegram answered) gets its own
    # state instead of counting as sent. SQLite cannot change a CHECK, so the table is rebuilt; rows an older
    # version had counted as sent "in doubt" are unknown too.
    """
    CREATE TABLE deliveries_v6 (
        id INTEGER PRIMARY KEY,
        digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL,
        subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'cancelled', 'unknown')),
        attempts INTEGER NOT NULL DEFAULT 0,
        message_id INTEGER,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (digest_id, chat_id)
    );
    INSERT INTO deliveries_v6 (id, digest_id, chat_id, subscription_id, state, attempts, message_id,
        last_error, created_at, updated_at)
    SELECT id, digest_id, chat_id, subscription_id,
        CASE WHEN state = 'sent' AND message_id IS NULL
            AND last_error = 'in doubt: the process stopped while the request was in flight'
            THEN 'unknown' ELSE state END,
        attempts, message_id, last_error, created_at, updated_at
    FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_v6 RENAME TO deliveries;
    CREATE INDEX deliveries_open ON deliveries(id) WHERE state IN ('pending', 'sending');
    CREATE INDEX deliveries_state ON deliveries(state, updated_at);
    """,
    # 7: a saved search query belongs to the user who searched: a paging button of another user's list
    # finds nothing. Rows saved before had no owner; they are only paging shortcuts, so they are dropped
    # (readable by nobody) rather than kept readable by anyone. New ids start above the old ones, so an old
    # button never lands on someone's new query.
    """
    ALTER TABLE saved_queries RENAME TO saved_queries_v6;
    CREATE TABLE saved_queries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        query TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (user_id, query)
    );
    INSERT INTO sqlite_sequence (name, seq) SELECT 'saved_queries', coalesce(max(id), 0) FROM saved_queries_v6;
    DROP TABLE saved_queries_v6;
    """,
    # 8 (digests): delivery options per subscription — a forum topic (message_thread_id), headlines only, link
    # previews, silent delivery, quiet hours — and, on each delivery, the options it is sent with.
    """
    ALTER TABLE subscriptions ADD COLUMN thread_id INTEGER;
    ALTER TABLE subscriptions ADD COLUMN headlines_only INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN link_previews INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN quiet_from TEXT;
    ALTER TABLE subscriptions ADD COLUMN quiet_to TEXT;
    ALTER TABLE deliveries ADD COLUMN thread_id INTEGER;
    ALTER TABLE deliveries ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE deliveries ADD COLUMN link_previews INTEGER NOT NULL DEFAULT 0;
    """,
    # 9 (uploads): a bulk upload in progress: where its progress message is and how many texts it saved so far
    # (counted in the transactions that save them), so that after a restart the message of an upload the
    # process did not finish is closed with what was saved.
    """
    CREATE TABLE bulk_uploads (
        id INTEGER PRIMARY KEY,
        admin_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        locale TEXT NOT NULL,
        total INTEGER NOT NULL,
        saved INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL
    );
    """,
    # 10 (several processes): a delivery in flight names the engine that claimed it, and every running
    # engine beats a heartbeat, so that a starting engine settles only the claims of engines that are gone;
    # `leases` elects the one active worker (holder, until when; renewed by compare-and-set).
    """
    ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
    CREATE TABLE engines (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL DEFAULT '',
        pid INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    );
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    """,
    # 11 (sources): feeds and channels the corpus follows, with their polling state and last error (a typed
    # reason code and its parameters as JSON, put into words where shown), and every item a source handed
    # over, once per (source, key): a poll, a re-ordered feed or a URL variant never brings it in twice.
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('feed', 'channel')),
        url TEXT NOT NULL UNIQUE,
        chat_id INTEGER UNIQUE,
        title TEXT NOT NULL DEFAULT '',
        filter_query TEXT NOT NULL DEFAULT '',
        paused INTEGER NOT NULL DEFAULT 0,
        poll_minutes INTEGER NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_polled_at TEXT,
        next_poll_at TEXT,
        last_new_at TEXT,
        items_added INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        error_reason TEXT,
        error_params TEXT NOT NULL DEFAULT '{}',
        created_by INTEGER,
        created_at TEXT NOT NULL
    );
    CREATE INDEX sources_due ON sources(next_poll_at) WHERE paused = 0 AND kind = 'feed';
    CREATE TABLE source_items (
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        outcome TEXT NOT NULL,
        doc_id INTEGER REFERENCES documents(id) ON DELETE SET NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (source_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX source_items_key ON source_items(key) WHERE doc_id IS NOT NULL;
    """,
    # 12 (forum topics): a subscription per (chat, forum topic) instead of per chat, so that each topic of a
    # group can have its own digest. SQLite cannot drop the UNIQUE of chat_id in place: the table is rebuilt
    # with the same ids. Dropping it sets deliveries.subscription_id to NULL (foreign keys are on, and cannot
    # be turned off inside the migration's transaction), so those links are saved first and put back.
    """
    CREATE TEMP TABLE subscription_links_v14 AS
        SELECT id, subscription_id FROM deliveries WHERE subscription_id IS NOT NULL;
    CREATE TABLE subscriptions_v14 (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('person', 'channel')),
        title TEXT NOT NULL DEFAULT '',
        added_by INTEGER,
        language TEXT NOT NULL,
        frequency TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly', 'instant')),
        weekday INTEGER CHECK (weekday BETWEEN 0 AND 6),
        local_time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        filter_query TEXT NOT NULL DEFAULT '',
        paused INTEGER NOT NULL DEFAULT 0,
        active INTEGER NOT NULL DEFAULT 1,
        inactive_reason TEXT,
        cursor INTEGER NOT NULL DEFAULT 0,
        next_due_utc TEXT,
        last_digest_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        thread_id INTEGER,
        headlines_only INTEGER NOT NULL DEFAULT 0,
        link_previews INTEGER NOT NULL DEFAULT 0,
        silent INTEGER NOT NULL DEFAULT 0,
        quiet_from TEXT,
        quiet_to TEXT
    );
    INSERT INTO subscriptions_v14 (id, chat_id, kind, title, added_by, language, frequency, weekday,
        local_time, timezone, filter_query, paused, active, inactive_reason, cursor, next_due_utc,
        last_digest_at, created_at, updated_at, thread_id, headlines_only, link_previews, silent, quiet_from,
        quiet_to)
    SELECT id, chat_id, kind, title, added_by, language, frequency, weekday, local_time, timezone,
        filter_query, paused, active, inactive_reason, cursor, next_due_utc, last_digest_at, created_at,
        updated_at, thread_id, headlines_only, link_previews, silent, quiet_from, quiet_to
    FROM subscriptions;
    DROP TABLE subscriptions;
    ALTER TABLE subscriptions_v14 RENAME TO subscriptions;
    CREATE UNIQUE INDEX subscriptions_chat_thread ON subscriptions(chat_id, coalesce(thread_id, 0));
    CREATE INDEX subscriptions_due ON subscriptions(next_due_utc) WHERE active = 1 AND paused = 0;
    UPDATE deliveries SET subscription_id = (
        SELECT l.subscription_id FROM subscription_links_v14 l WHERE l.id = deliveries.id
    ) WHERE id IN (SELECT id FROM subscription_links_v14);
    DROP TABLE subscription_links_v14;
    """,
    # 13: the author of a text, as its source gave it (a feed's author or dc:creator, an article's byline);
    # NULL for uploads and for texts stored before.
    """
    ALTER TABLE documents ADD COLUMN author TEXT;
    """,
    # 14: what story and near-duplicate lookups read of a candidate, in an index of its own: in the table these
    # columns come after the text, which for most texts goes on in overflow pages that SQLite walks to reach
    # them (at 100k texts, -25 % on a story lookup, -32 % on a near-duplicate one; see documents.py).
    """
    CREATE INDEX documents_meta ON documents(id, story_id, duplicate_of, published, lang);
    """,
]

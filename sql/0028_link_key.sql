-- 0028_link_key: the key that signs answer links, shared by every daemon
-- on the database, sealed with secrets.key_file (auth/secretbox.h) so that
-- a database dump alone cannot make or check an answer link. Made by the
-- first daemon that starts with a key file and no responses.link_key in
-- its configuration (which, when set, still wins). `recalld keys rotate`
-- seals it again under a new key; `recalld keys new-link-key` replaces it,
-- the old one kept as previous so that links already sent keep working
-- until they expire. No school's data.
CREATE TABLE link_key (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    sealed text NOT NULL CHECK (sealed LIKE 'enc1:%'),
    previous_sealed text CHECK (previous_sealed LIKE 'enc1:%'),
    created_at timestamptz NOT NULL DEFAULT now()
);

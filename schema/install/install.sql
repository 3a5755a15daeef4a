-- Safe install of the campaign system into a live database.
--
-- Dry run (changes nothing, prints what exists, what it would add and what
-- differs from this release):
--   psql -X -v ON_ERROR_STOP=1 -d DATABASE -f schema/install/install.sql
-- Apply (adds only what is missing):
--   psql -X -v ON_ERROR_STOP=1 -d DATABASE -v apply=1 -f schema/install/install.sql
-- Options:
--   -v lock_timeout=5s (default) bounds each lock wait, so that a statement
--     fails instead of queueing behind a long transaction and holding up the
--     table's other users (run again later);
--   -v statement_timeout=0 (default: none) for the apply's statements: an
--     index build cancelled half way leaves an INVALID index;
--   -v show_replace=1 also prints, never runs, the statements that would
--     replace what differs from this release with this release's definition
--     (the deliberate upgrade of an object).
-- Run it with psql -X (no psqlrc) and without -1/--single-transaction:
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction.
--
-- What it does. The reference schema (../0*.sql, read as they are now) is
-- built in a scratch schema, campaign_install_ref, inside a transaction that
-- is always rolled back. There the reference objects are compared with the
-- target schema, public, and a plan is made; then the transaction is rolled
-- back, so the scratch schema never outlives the run, whether it ends well,
-- with an error or with a lost connection. The reference files' own upgrade
-- steps (drop a differing function or view of an older copy) look up
-- 'public.' names through to_regclass / to_regprocedure; during the scratch
-- build those lookups are pointed at the scratch schema, so they cannot
-- touch the target, and the build checks afterwards that the target is as it
-- was.
--
-- What an apply does, and does not do:
--   * adds missing tables, columns, CHECK and FOREIGN KEY constraints,
--     functions, views, indexes and triggers; never replaces, alters or
--     drops anything that exists: no CREATE OR REPLACE, no IF NOT EXISTS
--     (a statement that meets an object created since the dry run fails and
--     stops the run rather than skip or replace it);
--   * indexes: CREATE INDEX CONCURRENTLY (writes continue during the build);
--     an index whose name is taken by another definition is reported and
--     not built; an equivalent index under another name counts as present;
--   * constraints on existing tables: ADD CONSTRAINT ... NOT VALID (no scan);
--     the validation (ALTER TABLE ... VALIDATE CONSTRAINT) is printed, not
--     run: see "Validation" in the output;
--   * columns on existing tables: only when adding them needs neither a
--     table rewrite nor a scan (nullable, or NOT NULL with a constant
--     default); generated, identity and serial columns are printed as manual
--     steps;
--   * functions, views, triggers, indexes and constraints that exist with
--     another signature, result, columns or definition are reported as
--     "differs" and left alone; a trigger keeps its enabled/disabled state;
--   * grants: none (run ../exporter-role.sql afterwards);
--   * statements run one by one in autocommit: a failure half way leaves the
--     statements before it applied (each is an addition from the plan) and,
--     after a failed CREATE INDEX CONCURRENTLY, an INVALID index, which the
--     next run reports with the statement that drops it.
--
-- Upgrading a database that runs an older release of this reference schema
-- (or the guide's own objects): run the dry run of the new release, then
-- the apply. It adds what the new release has and the database lacks
-- (functions, indexes, constraints NOT VALID, columns that need no rewrite,
-- views, triggers). It does not upgrade what exists: a function, view,
-- trigger, index or constraint whose definition changed between releases is
-- reported as "differs" and keeps the old definition, as does anything the
-- DBA changed. To take the new definition of such an object deliberately,
-- run the dry run with -v show_replace=1, save the current definition
-- (\sf NAME, \sv NAME, \d+ TABLE), and run the printed statements of the
-- objects you choose, one object at a time; then run exporter-role.sql
-- again (a dropped and re-created function loses its grants) and the dry
-- run again. Manual steps (generated columns, primary keys) and the
-- validation of NOT VALID constraints are printed for a maintenance window.
--
-- Who runs it: the owner of the campaign tables (or a superuser), with
-- CREATE on the database for the scratch schema.

\set ON_ERROR_STOP 1
\set AUTOCOMMIT on
\set QUIET on
\set ECHO none
\pset pager off
\if :{?apply}
\else
  \set apply 0
\endif
\if :{?lock_timeout}
\else
  \set lock_timeout 5s
\endif
\if :{?statement_timeout}
\else
  \set statement_timeout 0
\endif
\if :{?show_replace}
\else
  \set show_replace 0
\endif
SELECT lower(:'apply') IN ('1', 't', 'true', 'y', 'yes', 'on') AS campaign_install_apply,
       lower(:'show_replace') IN ('1', 't', 'true', 'y', 'yes', 'on') AS campaign_install_show_replace,
       format('Campaign system safe install: database %s, schema public, reference schema of this release',
              quote_ident(current_database())) AS campaign_install_header
\gset

DO $$
BEGIN
    IF current_setting('server_version_num')::int < 120000 THEN
        RAISE EXCEPTION 'the campaign system needs PostgreSQL 12 or later (generated columns)';
    END IF;
    IF to_regnamespace('public') IS NULL THEN
        RAISE EXCEPTION 'schema public does not exist; the campaign system lives in public';
    END IF;
    IF to_regnamespace('campaign_install_ref') IS NOT NULL OR to_regnamespace('campaign_install_shim') IS NOT NULL THEN
        RAISE EXCEPTION 'a schema named campaign_install_ref or campaign_install_shim exists; this script '
            'uses those names for its scratch work (never kept): rename yours, or drop it if a copy of this '
            'script left it';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Scratch build, always rolled back.
BEGIN;
-- Reading the target's definitions takes the ACCESS SHARE lock any query
-- takes; behind a long ACCESS EXCLUSIVE holder, give up rather than wait.
SET LOCAL lock_timeout = :'lock_timeout';

CREATE SCHEMA campaign_install_ref;
CREATE SCHEMA campaign_install_shim;

-- 'public.X' looked up by the reference files means X of the schema being
-- built: during the scratch build, the scratch schema.
CREATE FUNCTION campaign_install_shim.to_scratch(text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.regexp_replace($1, '^\s*"?public"?\.', 'campaign_install_ref.') $$;
CREATE FUNCTION campaign_install_shim.to_regclass(text) RETURNS regclass
LANGUAGE sql STABLE AS $$ SELECT pg_catalog.to_regclass(campaign_install_shim.to_scratch($1)) $$;
CREATE FUNCTION campaign_install_shim.to_regprocedure(text) RETURNS regprocedure
LANGUAGE sql STABLE AS $$ SELECT pg_catalog.to_regprocedure(campaign_install_shim.to_scratch($1)) $$;
CREATE FUNCTION campaign_install_shim.to_regproc(text) RETURNS regproc
LANGUAGE sql STABLE AS $$ SELECT pg_catalog.to_regproc(campaign_install_shim.to_scratch($1)) $$;
CREATE FUNCTION campaign_install_shim.to_regtype(text) RETURNS regtype
LANGUAGE sql STABLE AS $$ SELECT pg_catalog.to_regtype(campaign_install_shim.to_scratch($1)) $$;

-- What the target schema holds, to check that the build left it alone.
CREATE FUNCTION campaign_install_shim.fingerprint() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.md5(coalesce(pg_catalog.string_agg(x, ',' ORDER BY x), ''))
    FROM (
        SELECT 'c' || c.oid || c.relname || c.relkind::text
        FROM pg_catalog.pg_class c WHERE c.relnamespace = 'public'::regnamespace
        UNION ALL
        SELECT 'a' || a.attrelid || '.' || a.attnum || a.attname || a.atttypid || a.attnotnull || a.attisdropped
        FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0
        UNION ALL
        SELECT 'p' || p.oid || pg_catalog.md5(p.prosrc) || coalesce(p.proconfig::text, '')
        FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'public'::regnamespace
        UNION ALL
        SELECT 't' || t.oid || t.tgenabled::text
        FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace
        UNION ALL
        SELECT 'k' || k.oid || k.convalidated
        FROM pg_catalog.pg_constraint k WHERE k.connamespace = 'public'::regnamespace
    ) AS s(x)
$$;
CREATE TABLE campaign_install_shim.before AS SELECT campaign_install_shim.fingerprint() AS fp;

-- The reference objects, created in the first schema of the path; the shim
-- comes before pg_catalog so that its lookups win.
SET LOCAL search_path = campaign_install_ref, campaign_install_shim, pg_catalog;
\ir ../010_tables.sql
\ir ../020_functions.sql
\ir ../030_triggers.sql
\ir ../040_views.sql
\ir ../050_checks.sql

-- From here on every name the catalog functions print is qualified, so
-- 'campaign_install_ref.' is rewritten to 'public.'.
SET LOCAL search_path = pg_catalog;
SET LOCAL client_min_messages = warning;

DO $$
BEGIN
    IF (SELECT b.fp FROM campaign_install_shim.before b) IS DISTINCT FROM campaign_install_shim.fingerprint() THEN
        RAISE EXCEPTION 'the reference files changed schema public during the scratch build '
            '(everything is rolled back; nothing was changed); please report this';
    END IF;
END
$$;

-- The plan: one row per reference object (columns only when not present).
--   state:  present | missing | differs
--   action: none | add | manual (a step left to the DBA) | validate
--   stmt:   what an apply runs (action add), or the suggested manual step
--   validate: the separate validation step of a constraint
WITH ns AS (
    SELECT 'campaign_install_ref'::regnamespace::oid AS ref, 'public'::regnamespace::oid AS tgt
), rt AS (      -- reference tables
    SELECT c.oid, c.relname::text AS relname
    FROM pg_class c, ns WHERE c.relnamespace = ns.ref AND c.relkind IN ('r', 'p')
), tr AS (      -- target relations by name
    SELECT c.oid, c.relname::text AS relname, c.relkind
    FROM pg_class c, ns WHERE c.relnamespace = ns.tgt
), rcol AS (
    SELECT a.attrelid, rt.relname, a.attnum, a.attname::text AS attname,
           format_type(a.atttypid, a.atttypmod) AS typ, a.attnotnull, a.attidentity, a.attgenerated,
           replace(pg_get_expr(d.adbin, d.adrelid), 'campaign_install_ref.', 'public.') AS expr,
           a.attidentity = '' AND pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) IS NOT NULL AS is_serial
    FROM pg_attribute a
    JOIN rt ON rt.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
), rcoldef AS (
    SELECT rcol.*,
           quote_ident(attname) || ' ' ||
           CASE WHEN is_serial THEN CASE typ WHEN 'bigint' THEN 'bigserial' WHEN 'smallint' THEN 'smallserial' ELSE 'serial' END
                ELSE typ END ||
           CASE attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END ||
           CASE WHEN attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || expr || ') STORED'
                WHEN expr IS NOT NULL AND NOT is_serial THEN ' DEFAULT ' || expr
                ELSE '' END ||
           CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END AS coldef,
           -- Adding it to a filled table would rewrite the table: generated,
           -- identity and serial columns, and defaults that call a volatile
           -- function (matched by name, which errs on the safe side).
           (attgenerated <> '' OR attidentity <> '' OR is_serial
            OR EXISTS (SELECT 1 FROM pg_proc v
                       WHERE v.provolatile = 'v' AND position(v.proname || '(' IN coalesce(expr, '')) > 0)) AS needs_rewrite
    FROM rcol
), tcol AS (
    SELECT c.relname::text AS relname, a.attname::text AS attname, format_type(a.atttypid, a.atttypmod) AS typ,
           a.attnotnull, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid) AS expr
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN ns ON c.relnamespace = ns.tgt
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
), rcon AS (
    SELECT k.oid, rt.relname, k.conname::text AS conname, k.contype,
           replace(pg_get_constraintdef(k.oid), 'campaign_install_ref.', 'public.') AS def
    FROM pg_constraint k JOIN rt ON rt.oid = k.conrelid
), tcon AS (
    SELECT c.relname::text AS relname, k.conname::text AS conname, k.contype, k.convalidated,
           regexp_replace(pg_get_constraintdef(k.oid), ' NOT VALID$', '') AS def
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN ns ON c.relnamespace = ns.tgt
), tables AS (
    SELECT 100 AS ord, rt.oid::bigint AS seq, 'table'::text AS kind, rt.relname AS object,
           CASE WHEN tr.oid IS NULL THEN 'missing' WHEN tr.relkind IN ('r', 'p') THEN 'present' ELSE 'differs' END AS state,
           CASE WHEN tr.oid IS NULL THEN 'add' ELSE 'none' END AS action,
           CASE WHEN tr.oid IS NULL THEN
               'CREATE TABLE public.' || quote_ident(rt.relname) || E' (\n    ' ||
               (SELECT string_agg(d.coldef, E',\n    ' ORDER BY d.attnum) FROM rcoldef d WHERE d.attrelid = rt.oid) ||
               coalesce((SELECT string_agg(E',\n    CONSTRAINT ' || quote_ident(k.conname) || ' ' || k.def,
                                           '' ORDER BY k.contype <> 'p', k.conname)
                         FROM rcon k WHERE k.relname = rt.relname), '') ||
               E'\n)'
           END AS stmt,
           CASE WHEN tr.oid IS NULL THEN 'created empty, with its columns and constraints'
                WHEN tr.relkind NOT IN ('r', 'p') THEN 'the name is taken by a ' ||
                    CASE tr.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                                    WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' ELSE 'relation' END || '; left alone'
           END AS note,
           NULL::text AS validate,
           NULL::text AS replace
    FROM rt LEFT JOIN tr ON tr.relname = rt.relname
), columns AS (
    SELECT 200, d.attrelid::bigint * 10000 + d.attnum, 'column', d.relname || '.' || d.attname,
           CASE WHEN t.attname IS NULL THEN 'missing' ELSE 'differs' END,
           CASE WHEN t.attname IS NOT NULL THEN 'none' WHEN d.needs_rewrite THEN 'manual' ELSE 'add' END,
           CASE WHEN t.attname IS NULL THEN
               'ALTER TABLE public.' || quote_ident(d.relname) || ' ADD COLUMN ' ||
               CASE WHEN d.attnotnull AND d.expr IS NULL AND NOT d.needs_rewrite
                    THEN replace(d.coldef, ' NOT NULL', '') ELSE d.coldef END
           END,
           CASE WHEN t.attname IS NULL THEN
               CASE WHEN d.needs_rewrite THEN 'adding it rewrites or scans the table under an ACCESS EXCLUSIVE lock: '
                                              'run the statement in a maintenance window'
                    WHEN d.attnotnull AND d.expr IS NULL THEN 'added nullable (existing rows have no value); '
                                                              'this release has it NOT NULL'
               END
           ELSE concat_ws('; ',
               CASE WHEN t.typ <> d.typ THEN 'type ' || t.typ || ', this release: ' || d.typ END,
               CASE WHEN t.attnotnull <> d.attnotnull THEN
                   CASE WHEN t.attnotnull THEN 'NOT NULL, this release: nullable' ELSE 'nullable, this release: NOT NULL' END END,
               CASE WHEN t.attgenerated <> d.attgenerated
                      OR (t.attgenerated = 's' AND t.expr IS DISTINCT FROM d.expr) THEN
                   'generated: ' || CASE WHEN t.attgenerated = 's' THEN t.expr ELSE 'no' END ||
                   ', this release: ' || CASE WHEN d.attgenerated = 's' THEN d.expr ELSE 'no' END
                    WHEN t.attgenerated = '' AND d.attgenerated = ''
                     AND (CASE WHEN t.attidentity <> '' OR t.expr ~ '^nextval\(' THEN 'auto-numbered' ELSE t.expr END)
                         IS DISTINCT FROM
                         (CASE WHEN d.attidentity <> '' OR d.is_serial THEN 'auto-numbered' ELSE d.expr END) THEN
                   'default ' || coalesce(t.expr, 'none') || ', this release: ' || coalesce(d.expr, 'none') END
           ) || '; left alone'
           END,
           NULL::text, NULL::text
    FROM rcoldef d
    JOIN tr ON tr.relname = d.relname AND tr.relkind IN ('r', 'p')
    LEFT JOIN tcol t ON t.relname = d.relname AND t.attname = d.attname
    WHERE t.attname IS NULL
       OR t.typ <> d.typ OR t.attnotnull <> d.attnotnull OR t.attgenerated <> d.attgenerated
       OR (t.attgenerated = 's' AND t.expr IS DISTINCT FROM d.expr)
       OR (t.attgenerated = '' AND d.attgenerated = ''
           AND (CASE WHEN t.attidentity <> '' OR t.expr ~ '^nextval\(' THEN 'auto-numbered' ELSE t.expr END)
               IS DISTINCT FROM
               (CASE WHEN d.attidentity <> '' OR d.is_serial THEN 'auto-numbered' ELSE d.expr END))
), constraints AS (
    SELECT 300, k.oid::bigint, 'constraint', k.relname || '.' || k.conname,
           CASE WHEN tr.oid IS NULL THEN 'missing'
                WHEN same.conname IS NOT NULL AND same.def = k.def THEN 'present'
                WHEN same.conname IS NOT NULL OR tr.relkind NOT IN ('r', 'p') THEN 'differs'
                WHEN equiv.conname IS NOT NULL THEN 'present'
                ELSE 'missing' END,
           CASE WHEN tr.oid IS NULL THEN 'none'
                WHEN same.conname IS NOT NULL AND same.def = k.def THEN CASE WHEN same.convalidated THEN 'none' ELSE 'validate' END
                WHEN same.conname IS NOT NULL OR tr.relkind NOT IN ('r', 'p') THEN 'none'
                WHEN equiv.conname IS NOT NULL THEN CASE WHEN equiv.convalidated THEN 'none' ELSE 'validate' END
                WHEN k.contype IN ('c', 'f') THEN 'add'
                ELSE 'manual' END,
           CASE WHEN tr.oid IS NOT NULL AND same.conname IS NULL AND equiv.conname IS NULL AND tr.relkind IN ('r', 'p') THEN
               CASE WHEN k.contype IN ('c', 'f') THEN
                   'ALTER TABLE public.' || quote_ident(k.relname) || ' ADD CONSTRAINT ' || quote_ident(k.conname) || ' ' || k.def || ' NOT VALID'
               ELSE
                   'CREATE UNIQUE INDEX CONCURRENTLY ' || quote_ident(k.conname) || ' ON public.' || quote_ident(k.relname) ||
                   ' (' || substring(k.def FROM '\((.*)\)') || '); ALTER TABLE public.' || quote_ident(k.relname) ||
                   ' ADD CONSTRAINT ' || quote_ident(k.conname) || ' ' || split_part(k.def, ' (', 1) ||
                   ' USING INDEX ' || quote_ident(k.conname)
               END
           END,
           CASE WHEN tr.oid IS NULL THEN 'created with its table'
                WHEN tr.relkind NOT IN ('r', 'p') THEN 'the table''s name is taken by another kind of relation'
                WHEN same.conname IS NOT NULL AND same.def <> k.def THEN
                    'defined as ' || same.def || ', this release: ' || k.def || '; left alone'
                WHEN same.conname IS NOT NULL AND NOT same.convalidated THEN 'NOT VALID: see Validation'
                WHEN same.conname IS NOT NULL THEN NULL
                WHEN equiv.conname IS NOT NULL THEN 'as ' || equiv.conname ||
                    CASE WHEN equiv.convalidated THEN '' ELSE ' (NOT VALID: see Validation)' END
                WHEN k.contype IN ('c', 'f') THEN 'added NOT VALID: existing rows are checked by the validation step'
                ELSE 'a primary key or unique constraint needs its index built first and an ACCESS EXCLUSIVE lock: '
                     'run the statements in a maintenance window' END,
           CASE WHEN tr.relkind IN ('r', 'p') AND k.contype IN ('c', 'f')
                 AND ((same.conname IS NULL AND equiv.conname IS NULL)
                      OR (same.def = k.def AND NOT same.convalidated)
                      OR (same.conname IS NULL AND NOT equiv.convalidated)) THEN
               'ALTER TABLE public.' || quote_ident(k.relname) || ' VALIDATE CONSTRAINT ' ||
               quote_ident(coalesce(same.conname, equiv.conname, k.conname))
           END,
           CASE WHEN same.conname IS NOT NULL AND same.def <> k.def AND tr.relkind IN ('r', 'p') THEN
               'ALTER TABLE public.' || quote_ident(k.relname) || ' DROP CONSTRAINT ' || quote_ident(k.conname) ||
               ', ADD CONSTRAINT ' || quote_ident(k.conname) || ' ' || k.def ||
               CASE WHEN k.contype IN ('c', 'f') THEN ' NOT VALID;' || E'\n' || 'ALTER TABLE public.' ||
                    quote_ident(k.relname) || ' VALIDATE CONSTRAINT ' || quote_ident(k.conname) ELSE '' END
           END
    FROM rcon k
    LEFT JOIN tr ON tr.relname = k.relname
    LEFT JOIN tcon same ON same.relname = k.relname AND same.conname = k.conname
    LEFT JOIN LATERAL (
        SELECT e.conname, e.convalidated FROM tcon e
        WHERE e.relname = k.relname AND e.contype = k.contype AND e.def = k.def
        ORDER BY e.convalidated DESC, e.conname LIMIT 1
    ) equiv ON true
    WHERE k.contype IN ('c', 'f', 'p', 'u', 'x')
), rix AS (
    SELECT i.indexrelid AS oid, ic.relname::text AS name, tc.relname::text AS tbl,
           replace(pg_get_indexdef(i.indexrelid), 'campaign_install_ref.', 'public.') AS def
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class tc ON tc.oid = i.indrelid
    JOIN ns ON tc.relnamespace = ns.ref
    WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k
                      WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
), tix AS (
    SELECT ic.relname::text AS name, i.indisvalid, pg_get_indexdef(i.indexrelid) AS def
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN ns ON ic.relnamespace = ns.tgt
), rixs AS (
    SELECT rix.*, regexp_replace(rix.def, '^CREATE (UNIQUE )?INDEX \S+ ON ', 'CREATE \1INDEX ON ') AS shape FROM rix
), tixs AS (
    SELECT tix.*, regexp_replace(tix.def, '^CREATE (UNIQUE )?INDEX \S+ ON ', 'CREATE \1INDEX ON ') AS shape FROM tix
), indexes AS (
    SELECT 600, r.oid::bigint, 'index', r.name,
           CASE WHEN tr.oid IS NULL THEN CASE WHEN equiv.name IS NOT NULL THEN 'present' ELSE 'missing' END
                WHEN same.name IS NOT NULL AND same.shape = r.shape AND same.indisvalid THEN 'present'
                ELSE 'differs' END,
           CASE WHEN tr.oid IS NULL AND equiv.name IS NULL THEN 'add'
                WHEN same.name IS NOT NULL AND same.shape = r.shape AND NOT same.indisvalid THEN 'manual'
                ELSE 'none' END,
           CASE WHEN tr.oid IS NULL AND equiv.name IS NULL THEN
                    regexp_replace(r.def, '^CREATE (UNIQUE )?INDEX ', 'CREATE \1INDEX CONCURRENTLY ')
                WHEN same.name IS NOT NULL AND same.shape = r.shape AND NOT same.indisvalid THEN
                    'DROP INDEX CONCURRENTLY public.' || quote_ident(r.name) || '; -- then run the install again'
           END,
           CASE WHEN tr.oid IS NULL AND equiv.name IS NOT NULL THEN 'as ' || equiv.name
                WHEN tr.oid IS NULL THEN 'built CONCURRENTLY'
                WHEN same.name IS NULL THEN 'the name is taken by a ' ||
                    CASE tr.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                                    WHEN 'S' THEN 'sequence' ELSE 'relation' END || '; left alone'
                WHEN same.shape <> r.shape THEN 'defined as ' || same.def || ', this release: ' || r.def || '; left alone'
                WHEN NOT same.indisvalid THEN 'INVALID (a failed concurrent build): drop it, then run the install again'
           END,
           NULL::text,
           CASE WHEN same.name IS NOT NULL AND same.shape <> r.shape THEN
               'DROP INDEX CONCURRENTLY public.' || quote_ident(r.name) || ';' || E'\n' ||
               regexp_replace(r.def, '^CREATE (UNIQUE )?INDEX ', 'CREATE \1INDEX CONCURRENTLY ')
           END
    FROM rixs r
    LEFT JOIN tr ON tr.relname = r.name
    LEFT JOIN tixs same ON same.name = r.name
    LEFT JOIN LATERAL (
        SELECT e.name FROM tixs e WHERE e.shape = r.shape AND e.indisvalid ORDER BY e.name LIMIT 1
    ) equiv ON true
), rf AS (
    SELECT p.oid, p.proname::text AS proname, pg_get_function_identity_arguments(p.oid) AS args,
           pg_get_function_result(p.oid) AS result,
           replace(pg_get_functiondef(p.oid), 'campaign_install_ref.', 'public.') AS def
    FROM pg_proc p, ns WHERE p.pronamespace = ns.ref AND p.prokind IN ('f', 'p')
), tf AS (
    SELECT p.proname::text AS proname, pg_get_function_identity_arguments(p.oid) AS args,
           pg_get_function_result(p.oid) AS result,
           CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END AS def
    FROM pg_proc p, ns WHERE p.pronamespace = ns.tgt
), functions AS (
    SELECT 400, f.oid::bigint, 'function', f.proname || '(' || f.args || ')',
           CASE WHEN same.proname IS NOT NULL AND same.result = f.result AND same.def = f.def THEN 'present'
                WHEN same.proname IS NOT NULL OR other.sigs IS NOT NULL THEN 'differs'
                ELSE 'missing' END,
           CASE WHEN same.proname IS NULL AND other.sigs IS NULL THEN 'add' ELSE 'none' END,
           CASE WHEN same.proname IS NULL AND other.sigs IS NULL THEN
               regexp_replace(f.def, '^CREATE OR REPLACE ', 'CREATE ')
           END,
           CASE WHEN same.proname IS NOT NULL AND same.result <> f.result THEN
                    'returns ' || same.result || ', this release: ' || f.result || '; left alone'
                WHEN same.proname IS NOT NULL AND same.def IS DISTINCT FROM f.def THEN
                    'definition differs from this release''s; left alone'
                WHEN same.proname IS NULL AND other.sigs IS NOT NULL THEN
                    'exists only as ' || other.sigs || '; left alone, no overload added'
           END,
           NULL::text,
           CASE WHEN same.proname IS NOT NULL AND same.result = f.result AND same.def IS DISTINCT FROM f.def THEN f.def
                WHEN same.proname IS NOT NULL AND same.result <> f.result THEN
                    'DROP FUNCTION public.' || quote_ident(f.proname) || '(' || f.args || ');' || E'\n' ||
                    regexp_replace(f.def, '^CREATE OR REPLACE ', 'CREATE ')
           END
    FROM rf f
    LEFT JOIN tf same ON same.proname = f.proname AND same.args = f.args
    LEFT JOIN LATERAL (
        SELECT string_agg(o.proname || '(' || o.args || ')' ||
                          CASE WHEN o.result IS NOT NULL THEN ' returning ' || o.result ELSE '' END, ', ' ORDER BY o.args) AS sigs
        FROM tf o WHERE o.proname = f.proname AND o.args <> f.args
    ) other ON true
), rv AS (
    SELECT c.oid, c.relname::text AS relname, c.relkind,
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols,
           rtrim(replace(pg_get_viewdef(c.oid, true), 'campaign_install_ref.', 'public.'), E'; \n') AS def
    FROM pg_class c, ns WHERE c.relnamespace = ns.ref AND c.relkind IN ('v', 'm')
), views AS (
    SELECT 400, v.oid::bigint, CASE v.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, v.relname,
           CASE WHEN tr.oid IS NULL THEN 'missing'
                WHEN tr.relkind = v.relkind AND t.cols = v.cols AND t.def = v.def THEN 'present'
                ELSE 'differs' END,
           CASE WHEN tr.oid IS NULL THEN 'add' ELSE 'none' END,
           CASE WHEN tr.oid IS NULL THEN
               CASE v.relkind WHEN 'v' THEN 'CREATE VIEW ' ELSE 'CREATE MATERIALIZED VIEW ' END ||
               'public.' || quote_ident(v.relname) || E' AS\n' || v.def
           END,
           CASE WHEN tr.oid IS NULL THEN NULL
                WHEN tr.relkind <> v.relkind THEN 'the name is taken by another kind of relation; left alone'
                WHEN t.cols <> v.cols THEN 'columns (' || t.cols || '), this release: (' || v.cols || '); left alone'
                WHEN t.def <> v.def THEN 'definition differs from this release''s; left alone'
           END,
           NULL::text,
           CASE WHEN tr.relkind = v.relkind AND v.relkind = 'v' AND t.cols = v.cols AND t.def <> v.def THEN
                    'CREATE OR REPLACE VIEW public.' || quote_ident(v.relname) || E' AS\n' || v.def
                WHEN tr.relkind = v.relkind AND (t.cols <> v.cols OR t.def <> v.def) THEN
                    CASE v.relkind WHEN 'v' THEN 'DROP VIEW public.' ELSE 'DROP MATERIALIZED VIEW public.' END ||
                    quote_ident(v.relname) || ';' || E'\n' ||
                    CASE v.relkind WHEN 'v' THEN 'CREATE VIEW public.' ELSE 'CREATE MATERIALIZED VIEW public.' END ||
                    quote_ident(v.relname) || E' AS\n' || v.def
           END
    FROM rv v
    LEFT JOIN tr ON tr.relname = v.relname
    LEFT JOIN LATERAL (
        SELECT (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                FROM pg_attribute a WHERE a.attrelid = tr.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols,
               CASE WHEN tr.relkind IN ('v', 'm') THEN rtrim(pg_get_viewdef(tr.oid, true), E'; \n') END AS def
    ) t ON true
), rtg AS (
    SELECT t.oid, t.tgname::text AS tgname, rt.relname,
           replace(pg_get_triggerdef(t.oid), 'campaign_install_ref.', 'public.') AS def
    FROM pg_trigger t JOIN rt ON rt.oid = t.tgrelid WHERE NOT t.tgisinternal
), ttg AS (
    SELECT t.tgname::text AS tgname, c.relname::text AS relname, t.tgenabled, pg_get_triggerdef(t.oid) AS def
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN ns ON c.relnamespace = ns.tgt
    WHERE NOT t.tgisinternal
), triggers AS (
    SELECT 700, g.oid::bigint, 'trigger', g.relname || '.' || g.tgname,
           CASE WHEN t.tgname IS NULL THEN CASE WHEN tr.oid IS NULL OR tr.relkind IN ('r', 'p') THEN 'missing' ELSE 'differs' END
                WHEN t.def = g.def THEN 'present' ELSE 'differs' END,
           CASE WHEN t.tgname IS NULL AND (tr.oid IS NULL OR tr.relkind IN ('r', 'p')) THEN 'add' ELSE 'none' END,
           CASE WHEN t.tgname IS NULL AND (tr.oid IS NULL OR tr.relkind IN ('r', 'p')) THEN g.def END,
           concat_ws('; ',
               CASE WHEN t.tgname IS NULL AND tr.oid IS NOT NULL AND tr.relkind NOT IN ('r', 'p') THEN
                   'the table''s name is taken by another kind of relation' END,
               CASE WHEN t.def <> g.def THEN 'defined as ' || t.def || ', this release: ' || g.def END,
               CASE t.tgenabled WHEN 'D' THEN 'DISABLED, left disabled'
                                WHEN 'R' THEN 'enabled for replica sessions only, left so'
                                WHEN 'A' THEN 'enabled always, left so' END,
               CASE WHEN t.def <> g.def THEN 'left alone' END),
           NULL::text,
           CASE WHEN t.def <> g.def THEN
               'DROP TRIGGER ' || quote_ident(g.tgname) || ' ON public.' || quote_ident(g.relname) || ';' || E'\n' || g.def ||
               CASE t.tgenabled WHEN 'O' THEN ''
                   ELSE ';' || E'\n' || 'ALTER TABLE public.' || quote_ident(g.relname) || ' ' ||
                        CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'ENABLE ALWAYS' END ||
                        ' TRIGGER ' || quote_ident(g.tgname) END
           END
    FROM rtg g
    LEFT JOIN tr ON tr.relname = g.relname
    LEFT JOIN ttg t ON t.relname = g.relname AND t.tgname = g.tgname
), unsupported AS (
    -- Kinds of reference objects this script does not know how to add.
    SELECT 900, c.oid::bigint, 'unsupported', c.relname::text, 'missing', 'manual', NULL::text,
           'a relation of kind ' || c.relkind::text || ' in the reference schema; create it by hand', NULL::text, NULL::text
    FROM pg_class c, ns
    WHERE c.relnamespace = ns.ref
      AND (c.relkind NOT IN ('r', 'p', 'v', 'm', 'i', 'S')
           OR (c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                  AND d.deptype IN ('a', 'i'))))
    UNION ALL
    SELECT 900, p.oid::bigint, 'unsupported', p.proname::text, 'missing', 'manual', NULL,
           'a routine of kind ' || p.prokind::text || ' in the reference schema; create it by hand', NULL, NULL
    FROM pg_proc p, ns WHERE p.pronamespace = ns.ref AND p.prokind NOT IN ('f', 'p')
    UNION ALL
    SELECT 900, t.oid::bigint, 'unsupported', t.typname::text, 'missing', 'manual', NULL,
           'a type in the reference schema; create it by hand', NULL, NULL
    FROM pg_type t, ns
    WHERE t.typnamespace = ns.ref AND t.typrelid = 0
      AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
), plan(ord, seq, kind, object, state, action, stmt, note, validate, replace) AS (
    SELECT * FROM tables
    UNION ALL SELECT * FROM columns
    UNION ALL SELECT * FROM constraints
    UNION ALL SELECT * FROM functions
    UNION ALL SELECT * FROM views
    UNION ALL SELECT * FROM indexes
    UNION ALL SELECT * FROM triggers
    UNION ALL SELECT * FROM unsupported
)
SELECT coalesce(jsonb_agg(jsonb_build_object(
           'ord', ord, 'seq', seq, 'kind', kind, 'object', object, 'state', state, 'action', action,
           'stmt', stmt, 'note', nullif(note, ''), 'validate', validate, 'replace', replace) ORDER BY ord, seq), '[]') AS campaign_install_plan
FROM plan
\gset

ROLLBACK;
-- ---------------------------------------------------------------------------

\echo
\echo :campaign_install_header
\if :campaign_install_apply
\echo 'Mode: APPLY'
\else
\echo 'Mode: dry run (nothing is changed; -v apply=1 applies)'
\endif
\echo

SELECT kind, object, state, action, coalesce(note, '') AS note
FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb)
     AS p(ord int, seq bigint, kind text, object text, state text, action text, note text)
ORDER BY ord, seq;

SELECT count(*) FILTER (WHERE state = 'present') AS present,
       count(*) FILTER (WHERE state = 'missing' AND action = 'add') AS to_add,
       count(*) FILTER (WHERE state = 'missing' AND action = 'none') AS with_their_table,
       count(*) FILTER (WHERE state = 'differs') AS differs_left_alone,
       count(*) FILTER (WHERE action = 'manual') AS manual_steps,
       count(*) FILTER (WHERE validate IS NOT NULL) AS to_validate
FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb) AS p(state text, action text, validate text);

\pset format unaligned
\pset tuples_only on

\if :campaign_install_apply
SELECT CASE WHEN count(*) = 0 THEN E'Nothing to add.\n'
            ELSE 'Running ' || count(*) || ' statement(s), in order, each in its own transaction; each is shown as it '
                 'runs, followed by its command tag:' END
FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb) AS p(action text, stmt text)
WHERE action = 'add' AND stmt IS NOT NULL;
\pset format aligned
\pset tuples_only off
-- The plan in a session table, so that the echo shows a short query.
CREATE TEMP TABLE campaign_install_plan AS
SELECT * FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb) AS p(ord int, seq bigint, action text, stmt text);
SET lock_timeout = :'lock_timeout';
SET statement_timeout = :'statement_timeout';
SET search_path = public;
\set QUIET off
\set ECHO queries
SELECT stmt || ';' FROM pg_temp.campaign_install_plan WHERE action = 'add' AND stmt IS NOT NULL ORDER BY ord, seq
\gexec
\set ECHO none
\set QUIET on
RESET search_path;
RESET statement_timeout;
RESET lock_timeout;
DROP TABLE pg_temp.campaign_install_plan;
\echo
\echo 'Applied. Run the dry run again: it reports nothing to add.'
\echo
\pset format unaligned
\pset tuples_only on
\else
SELECT 'Statements an apply (-v apply=1) would run, in order, each in its own transaction:' || E'\n' ||
       coalesce(string_agg(stmt || ';', E'\n' ORDER BY ord, seq), '(none: nothing to add)') || E'\n'
FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb) AS p(ord int, seq bigint, action text, stmt text)
WHERE action = 'add' AND stmt IS NOT NULL;
\endif

SELECT 'Manual steps (not run: each would rewrite or scan a table, or hold an ACCESS EXCLUSIVE lock; '
       'plan a maintenance window):' || E'\n' ||
       string_agg('-- ' || kind || ' ' || object || E'\n' || stmt || ';', E'\n' ORDER BY ord, seq) || E'\n'
FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb) AS p(ord int, seq bigint, kind text, object text, action text, stmt text)
WHERE action = 'manual' AND stmt IS NOT NULL
HAVING count(*) > 0;

SELECT 'Validation (a separate step, not run by this script): constraints added NOT VALID hold for new '
       'and updated rows at once; existing rows are checked by the statements below. Each scans its table '
       'under a SHARE UPDATE EXCLUSIVE lock: reads and writes go on, other DDL, VACUUM and another '
       'validation wait. Run them at a quiet time, one by one. If one fails, existing rows break the '
       'constraint: find them (SELECT * FROM the table WHERE NOT (the CHECK''s condition)), fix them and '
       'run it again.' || E'\n' ||
       string_agg(validate || ';', E'\n' ORDER BY ord, seq) || E'\n'
FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb) AS p(ord int, seq bigint, validate text)
WHERE validate IS NOT NULL
HAVING count(*) > 0;

\if :campaign_install_show_replace
SELECT 'Replacements (-v show_replace=1; never run by this script). Each replaces an object that differs '
       'from this release with this release''s definition: whatever was different (a local change, an older '
       'release''s version) is lost, and a dropped and re-created function loses its grants (run '
       'exporter-role.sql again) and fails if other objects depend on it. Save the current definition first '
       '(\sf NAME, \sv NAME), review, and run what you take one object at a time (in a transaction, '
       'except the CONCURRENTLY statements, which cannot run in one).' || E'\n' ||
       string_agg('-- ' || kind || ' ' || object || E'\n' || replace || ';', E'\n' ORDER BY ord, seq) || E'\n'
FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb) AS p(ord int, seq bigint, kind text, object text, replace text)
WHERE replace IS NOT NULL
HAVING count(*) > 0;
\else
SELECT count(*) || ' object(s) that differ from this release (left alone) can take this release''s '
       'definition: -v show_replace=1 prints the statements (never run by this script).' || E'\n'
FROM jsonb_to_recordset(:'campaign_install_plan'::jsonb) AS p(replace text)
WHERE replace IS NOT NULL
HAVING count(*) > 0;
\endif

\pset format aligned
\pset tuples_only off

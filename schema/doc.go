// Package schema is the reference implementation of the database side
// (tables, triggers, check functions, the attribution view) as SQL files,
// with install/install.sql, the safe install for a live database. It holds
// no Go code: its tests apply the SQL to real databases.
package schema

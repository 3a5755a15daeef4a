// Package queries holds the SQL each collector runs, one file per collector,
// so a DBA can read and run any of them in psql as they are.
package queries

import (
	"embed"
	"fmt"
)

//go:embed *.sql
var files embed.FS

// Get returns the query stored as NAME.sql. It panics when the file is
// missing: the set of files is fixed at build time and tested.
func Get(name string) string {
	b, err := files.ReadFile(name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("queries: no %s.sql embedded", name))
	}
	return string(b)
}

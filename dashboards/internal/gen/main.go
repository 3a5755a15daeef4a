// Command gen writes the dashboards defined in Go to their JSON files; go
// generate runs it in the dashboards directory.
package main

import (
	"log"
	"os"

	"github.com/campaign-exporter/campaign_exporter/dashboards/internal/campaignsystem"
)

func main() {
	b, err := campaignsystem.JSON()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("campaign-system.json", b, 0o644); err != nil {
		log.Fatal(err)
	}
}

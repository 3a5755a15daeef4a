package collector

import (
	"github.com/campaign-exporter/campaign_exporter/queries"
)

func init() {
	registerCollector("health", true, perScrape, func(Options) Collector { return healthRows })
}

var (
	healthStatusDesc = newDesc("health", "check_status",
		"State of each check of check_campaign_system_health(): 1 for the current status.", "check", "status")
	healthValueDesc = newDesc("health", "check_value",
		"The first number in the check's details, such as the count of invalid rows.", "check")
	// healthRows reports check_campaign_system_health().
	healthRows = statusRows{
		query: queries.Get("health"), nameColumn: "check_name", known: checkStates,
		statusDesc: healthStatusDesc, valueDesc: healthValueDesc, parse: detailsNumber,
	}
)

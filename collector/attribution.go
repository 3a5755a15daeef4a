package collector

import (
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
)

func init() {
	// Revenue Balance reads every qualifying order: cached by default.
	registerCollector("attribution", true, 5*time.Minute, func(Options) Collector { return attributionRows })
}

var (
	attributionStatusDesc = newDesc("attribution", "check_status",
		"State of each check of check_attribution_quality(): 1 for the current status.", "check", "status")
	attributionValueDesc = newDesc("attribution", "check_value",
		"The check's value column (Revenue Balance: absolute difference; Weight Distribution: average share).", "check")
	// attributionRows reports check_attribution_quality().
	attributionRows = statusRows{
		query: queries.Get("attribution"), nameColumn: "check_name", known: checkStates,
		statusDesc: attributionStatusDesc, valueDesc: attributionValueDesc, parse: numericValue(1),
	}
)

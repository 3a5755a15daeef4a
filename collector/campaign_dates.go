package collector

import (
	"context"
	"time"

	"github.com/campaign-exporter/campaign_exporter/queries"
	"github.com/prometheus/client_golang/prometheus"
)

// Every 5 minutes, like the other collectors that read a whole table: the
// count only changes when campaigns are edited with the trigger disabled,
// which campaign_trigger_enabled shows on every scrape, and its cost grows
// with dim_date and the campaigns' days.
func init() {
	registerCollector("campaign_dates", true, 5*time.Minute, func(Options) Collector { return collectorFunc(updateCampaignDates) })
}

var (
	staleCampaignRowsDesc = newDesc("dim_date", "stale_campaign_rows",
		"dim_date rows whose campaign_id is not the date's primary campaign that update_campaign_in_dim_date_v2_trigger would set now; "+
			"rows whose campaign_id matches no campaign are not counted (Campaign ID Integrity counts them).")
	campaignDatesQuery = queries.Get("campaign_dates")
)

// updateCampaignDates reports dim_date rows left stale by campaign edits
// made while the campaign trigger was disabled.
func updateCampaignDates(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var stale int64
	if err := db.QueryRow(ctx, campaignDatesQuery).Scan(&stale); err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(staleCampaignRowsDesc, prometheus.GaugeValue, float64(stale))
	return nil
}

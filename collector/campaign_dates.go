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
	registerCollector("campaign_dates", true, 5*time.Minute, func(Options) Collector { return campaignDatesCollector{} })
}

var (
	staleCampaignRowsDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "dim_date", "stale_campaign_rows"),
		"dim_date rows whose campaign_id is not the date's primary campaign that update_campaign_in_dim_date_v2_trigger would set now; "+
			"rows whose campaign_id matches no campaign are not counted (Campaign ID Integrity counts them).", nil, nil)
	campaignDatesQuery = queries.Get("campaign_dates")
)

// campaignDatesCollector reports dim_date rows left stale by campaign edits
// made while the campaign trigger was disabled.
type campaignDatesCollector struct{}

var _ Collector = campaignDatesCollector{}

func (campaignDatesCollector) Update(ctx context.Context, db Querier, ch chan<- prometheus.Metric) error {
	var stale int64
	if err := db.QueryRow(ctx, campaignDatesQuery).Scan(&stale); err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(staleCampaignRowsDesc, prometheus.GaugeValue, float64(stale))
	return nil
}

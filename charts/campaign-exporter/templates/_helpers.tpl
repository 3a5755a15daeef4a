{{/* The chart's name, overridable. */}}
{{- define "campaign-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's objects' name. */}}
{{- define "campaign-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "campaign-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "campaign-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "campaign-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "campaign-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "campaign-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "campaign-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "campaign-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the DSN files are mounted in the container. */}}
{{- define "campaign-exporter.secretsDir" -}}/etc/campaign-exporter/secrets{{- end }}
{{- define "campaign-exporter.configDir" -}}/etc/campaign-exporter/config{{- end }}

{{/* Whether the chart makes a Secret: "true" or "". */}}
{{- define "campaign-exporter.makesSecret" -}}
{{- $make := .Values.database.dsn }}
{{- range .Values.targets }}{{ if .dsn }}{{ $make = true }}{{ end }}{{ end }}
{{- if $make }}true{{ end }}
{{- end }}

{{/* The name of a target's per-target objects (Probe, ServiceMonitor). */}}
{{- define "campaign-exporter.targetObjectName" -}}
{{- printf "%s-%s" (include "campaign-exporter.fullname" .root) (.target.name | replace "_" "-") | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A duration as Prometheus writes it (1h, 1m30s, 500ms) in milliseconds;
fails on anything else. Call with (dict "what" NAME "d" VALUE).
*/}}
{{- define "campaign-exporter.ms" -}}
{{- $d := toString .d }}
{{- $parts := regexFindAll "[0-9]+(ms|h|m|s)" $d -1 }}
{{- if or (not $parts) (ne (join "" $parts) $d) }}
{{- fail (printf "%s: %q is not a duration like 30s, 1m or 1m30s" .what $d) }}
{{- end }}
{{- $ms := 0 }}
{{- range $parts }}
{{- $n := regexFind "^[0-9]+" . | atoi }}
{{- $unit := trimPrefix (toString $n) . }}
{{- $ms = add $ms (mul $n (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $unit)) }}
{{- end }}
{{- $ms }}
{{- end }}

{{/* Fails unless scrapeTimeout is below interval. Call with (dict "what" NAME "interval" I "timeout" T). */}}
{{- define "campaign-exporter.checkTimeout" -}}
{{- $i := include "campaign-exporter.ms" (dict "what" (printf "%s.interval" .what) "d" .interval) | atoi }}
{{- $t := include "campaign-exporter.ms" (dict "what" (printf "%s.scrapeTimeout" .what) "d" .timeout) | atoi }}
{{- if ge $t $i }}
{{- fail (printf "%s: scrapeTimeout %s must be below interval %s" .what .timeout .interval) }}
{{- end }}
{{- end }}

{{/*
Fails unless a job name is one the alert rules select: "campaign" (the
databases' metrics) or "campaign_exporter" (the exporter's own).
*/}}
{{- define "campaign-exporter.checkJob" -}}
{{- if and .root.Values.prometheusRule.enabled (not (has .job (list "campaign" "campaign_exporter"))) }}
{{- fail (printf "%s %q: the alert rules only see the jobs campaign and campaign_exporter" .what .job) }}
{{- end }}
{{- end }}

{{/* The job label of the exporter's /metrics. */}}
{{- define "campaign-exporter.metricsJob" -}}
{{- if .Values.serviceMonitor.jobName }}
{{- .Values.serviceMonitor.jobName }}
{{- else if or .Values.database.existingSecret .Values.database.dsn }}campaign
{{- else }}campaign_exporter
{{- end }}
{{- end }}

{{/* Checks the database and targets values; renders nothing. */}}
{{- define "campaign-exporter.validate" -}}
{{- $db := .Values.database }}
{{- if and $db.existingSecret $db.dsn }}
{{- fail "database: give existingSecret or dsn, not both" }}
{{- end }}
{{- if and (not $db.existingSecret) (not $db.dsn) (not .Values.targets) }}
{{- fail "no database: set database.existingSecret (a Secret holding the DSN), database.dsn, or targets" }}
{{- end }}
{{- $seen := dict }}
{{- range .Values.targets }}
{{- if not (regexMatch "^[a-z0-9_-]+$" (toString .name)) }}
{{- fail (printf "targets: name %q must match [a-z0-9_-]+" (toString .name)) }}
{{- end }}
{{- $object := .name | replace "_" "-" }}
{{- if hasKey $seen $object }}
{{- fail (printf "targets: %q and %q are the same name to Kubernetes (\"_\" becomes \"-\")" .name (get $seen $object)) }}
{{- end }}
{{- $_ := set $seen $object .name }}
{{- if and .existingSecret .dsn }}
{{- fail (printf "targets: %s: give existingSecret or dsn, not both" .name) }}
{{- end }}
{{- if and (not .existingSecret) (not .dsn) }}
{{- fail (printf "targets: %s: give existingSecret (a Secret holding the DSN) or dsn" .name) }}
{{- end }}
{{- end }}
{{- if not (has .Values.targetScrape.kind (list "Probe" "ServiceMonitor")) }}
{{- fail (printf "targetScrape.kind %q: want Probe or ServiceMonitor" .Values.targetScrape.kind) }}
{{- end }}
{{- end }}

package charttest

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campaign-exporter/campaign_exporter/internal/config"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func TestLint(t *testing.T) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if out, err := helm(t, "lint", "--strict", "--kube-version", kubeVersion, chartDir, "-f", f); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// TestChartFilesEqualSources: the chart ships copies of the alert rules and
// the dashboard (a chart must be self-contained to be packaged); they must
// be the files the repository holds now.
func TestChartFilesEqualSources(t *testing.T) {
	for copyPath, source := range map[string]string{
		"files/campaign-alerts.yml":  "alerts/campaign-alerts.yml",
		"files/campaign-system.json": "dashboards/campaign-system.json",
	} {
		got, err := os.ReadFile(filepath.Join(chartDir, copyPath))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, readRepoFile(t, source)) {
			t.Errorf("chart's %s differs from %s: run make chart-files", copyPath, source)
		}
	}
}

// TestValuesFiles renders the chart with each ci/ values file and checks
// every object against what the values ask for.
func TestValuesFiles(t *testing.T) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			v := readValues(t, f)
			r := render(t, "-f", f)
			checkDeployment(t, r, v)
			checkNoDSNOutsideSecrets(t, r, v)
			checkMonitoring(t, r, v)
			if on(v.PrometheusRule) {
				checkRules(t, r)
			} else if len(r.rules) != 0 {
				t.Error("a PrometheusRule although prometheusRule is off")
			}
			checkDashboard(t, r, on(v.Dashboard))
			checkNetworkPolicy(t, r, v)
		})
	}
}

func on[T any](p *T) bool {
	if p == nil {
		return false
	}
	return reflect.ValueOf(p).Elem().FieldByName("Enabled").Bool()
}

func one[T any](t *testing.T, what string, objs []T) T {
	t.Helper()
	if len(objs) != 1 {
		t.Fatalf("want 1 %s, got %d", what, len(objs))
	}
	return objs[0]
}

func checkDeployment(t *testing.T, r *rendered, v values) {
	t.Helper()
	d := one(t, "Deployment", r.deployments)
	pod := d.Spec.Template.Spec
	c := one(t, "container", pod.Containers)
	if len(pod.InitContainers) != 0 {
		t.Error("unexpected init containers")
	}

	// The restricted Pod Security Standard, effective values (container
	// settings win over the pod's).
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("no security context")
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		t.Error("runAsNonRoot is not true")
	}
	if uid := firstInt(sc.RunAsUser, psc.RunAsUser); uid == nil || *uid == 0 {
		t.Error("runAsUser is unset or root")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root filesystem not read-only")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("privilege escalation allowed")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}
	if sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Errorf("capabilities %+v, want all dropped, none added", sc.Capabilities)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccomp profile %+v, want RuntimeDefault", seccomp)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("service account token mounted")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Error("host namespaces shared")
	}

	// Probes on the landing page, or /-/healthy where /metrics is "/".
	wantProbe := "/"
	if v.Exporter.TelemetryPath == "/" {
		wantProbe = "/-/healthy"
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != wantProbe || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", name, p, wantProbe)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 9817 || c.Ports[0].Name != "http" {
		t.Errorf("ports %+v, want http 9817", c.Ports)
	}
	if !strings.Contains(c.Image, "campaign-exporter") {
		t.Errorf("image %q", c.Image)
	}

	// DSNs: never in the environment; files from Secrets.
	if len(c.Env) != 0 || len(c.EnvFrom) != 0 {
		t.Errorf("environment set: %+v %+v", c.Env, c.EnvFrom)
	}
	files := mountedSecretFiles(t, r, pod, c)
	dsnFile := flagValue(c.Args, "--db.dsn-file")
	wantDB := v.Database.ExistingSecret != "" || v.Database.DSN != ""
	switch {
	case wantDB && dsnFile == "":
		t.Error("a database is configured but there is no --db.dsn-file")
	case !wantDB && dsnFile != "":
		t.Errorf("--db.dsn-file=%s without a database", dsnFile)
	case wantDB:
		checkSecretFile(t, r, files, dsnFile, v.Database.ExistingSecret, v.Database.ExistingSecretKey, "dsn", v.Database.DSN)
	}

	configFile := flagValue(c.Args, "--config.file")
	if len(v.Targets) == 0 {
		if configFile != "" {
			t.Errorf("--config.file=%s without targets", configFile)
		}
		return
	}
	cfg, text := targetsConfig(t, r, pod, c, configFile)
	checkExporterAcceptsConfig(t, r, files, text, v)
	if len(cfg.Targets) != len(v.Targets) {
		t.Fatalf("config has %d targets, values %d", len(cfg.Targets), len(v.Targets))
	}
	for i, want := range v.Targets {
		got := cfg.Targets[i]
		if got.Name != want.Name {
			t.Errorf("config target %d is %q, want %q", i, got.Name, want.Name)
		}
		key := want.ExistingSecretKey
		if key == "" {
			key = "dsn"
		}
		checkSecretFile(t, r, files, got.DSNFile, want.ExistingSecret, key, "target-"+want.Name, want.DSN)
		if !reflect.DeepEqual(got.Collectors, want.Collectors) || !reflect.DeepEqual(got.MinInterval, want.MinInterval) || got.MaxConnections != want.MaxConnections {
			t.Errorf("config target %s: %+v, values %+v", want.Name, got, want)
		}
	}
}

func firstInt(ps ...*int64) *int64 {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

// flagValue returns the value of --name=value in args, or "".
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// secretFile is where a file mounted in the container comes from.
type secretFile struct{ secret, key string }

// mountedSecretFiles maps each file path the container sees from a Secret
// (secret volumes and projected secret sources) to its Secret and key.
func mountedSecretFiles(t *testing.T, r *rendered, pod corev1.PodSpec, c corev1.Container) map[string]secretFile {
	t.Helper()
	files := map[string]secretFile{}
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			t.Errorf("volume %s mounted writable", m.Name)
		}
		if m.SubPath != "" {
			t.Errorf("volume %s mounted with subPath: a rotated Secret would never reach the pod", m.Name)
		}
		for _, vol := range pod.Volumes {
			if vol.Name != m.Name {
				continue
			}
			add := func(s string, items []corev1.KeyToPath, mode *int32) {
				for _, it := range items {
					files[path.Join(m.MountPath, it.Path)] = secretFile{s, it.Key}
				}
				if mode != nil && *mode&0o007 != 0 {
					t.Errorf("secret %s mounted world-readable (mode %o)", s, *mode)
				}
			}
			if vol.Secret != nil {
				add(vol.Secret.SecretName, vol.Secret.Items, vol.Secret.DefaultMode)
			}
			if vol.Projected != nil {
				for _, src := range vol.Projected.Sources {
					if src.Secret != nil {
						add(src.Secret.Name, src.Secret.Items, vol.Projected.DefaultMode)
					}
				}
			}
		}
	}
	return files
}

// checkSecretFile checks that file is mounted from existing/key, or, with
// no existing Secret, from the chart's Secret under chartKey holding dsn.
func checkSecretFile(t *testing.T, r *rendered, files map[string]secretFile, file, existing, key, chartKey, dsn string) {
	t.Helper()
	got, ok := files[file]
	if !ok {
		t.Errorf("%s is not a file mounted from a Secret (mounted: %v)", file, files)
		return
	}
	if existing != "" {
		if key == "" {
			key = "dsn"
		}
		if got != (secretFile{existing, key}) {
			t.Errorf("%s comes from %+v, want Secret %s key %s", file, got, existing, key)
		}
		return
	}
	if got.key != chartKey {
		t.Errorf("%s comes from key %s, want %s", file, got.key, chartKey)
	}
	if s := secretNamed(r, got.secret); s == nil || string(s.Data[got.key]) != dsn {
		t.Errorf("%s: the chart's Secret %s does not hold the DSN under %s", file, got.secret, got.key)
	}
}

// targetsConfig returns the exporter's --config.file as the chart renders
// it: the ConfigMap key behind the file the flag names.
type configFile struct {
	Targets []struct {
		Name           string            `json:"name"`
		DSNFile        string            `json:"dsn_file"`
		Collectors     []string          `json:"collectors"`
		MinInterval    map[string]string `json:"min_interval"`
		MaxConnections int               `json:"max_connections"`
	} `json:"targets"`
}

func targetsConfig(t *testing.T, r *rendered, pod corev1.PodSpec, c corev1.Container, file string) (configFile, string) {
	t.Helper()
	if file == "" {
		t.Fatal("targets but no --config.file")
	}
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, m.MountPath+"/")
		if !ok {
			continue
		}
		for _, vol := range pod.Volumes {
			if vol.Name != m.Name || vol.ConfigMap == nil {
				continue
			}
			for _, cm := range r.configMaps {
				if cm.Name != vol.ConfigMap.Name {
					continue
				}
				text, ok := cm.Data[rel]
				if !ok {
					t.Fatalf("ConfigMap %s has no key %s", cm.Name, rel)
				}
				if strings.Contains(text, "postgres://") {
					t.Error("a DSN in the config file's ConfigMap")
				}
				var cfg configFile
				if err := yaml.UnmarshalStrict([]byte(text), &cfg); err != nil {
					t.Fatalf("config file: %v\n%s", err, text)
				}
				return cfg, text
			}
		}
	}
	t.Fatalf("--config.file=%s is not a file mounted from a ConfigMap", file)
	return configFile{}, ""
}

func secretNamed(r *rendered, name string) *corev1.Secret {
	for _, s := range r.secrets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// checkNoDSNOutsideSecrets: a DSN given in values appears in no object but
// the chart's Secret, in no form (plain or base64 would both be found by
// decoding: the Secret's data is the only place it may be).
func checkNoDSNOutsideSecrets(t *testing.T, r *rendered, v values) {
	t.Helper()
	dsns := []string{v.Database.DSN}
	for _, tg := range v.Targets {
		dsns = append(dsns, tg.DSN)
	}
	for kind, docs := range r.docs {
		if kind == "Secret" {
			continue
		}
		for _, doc := range docs {
			for _, dsn := range dsns {
				if dsn != "" && strings.Contains(doc, dsn) {
					t.Errorf("a DSN in a %s", kind)
				}
			}
			if strings.Contains(doc, "postgres://") || strings.Contains(doc, "DATA_SOURCE_NAME") {
				t.Errorf("a DSN or DATA_SOURCE_NAME in a %s", kind)
			}
		}
	}
}

func checkMonitoring(t *testing.T, r *rendered, v values) {
	t.Helper()
	svc := one(t, "Service", r.services)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("service ports %+v", svc.Spec.Ports)
	}
	d := one(t, "Deployment", r.deployments)
	for k, val := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != val {
			t.Errorf("service selector %s=%s does not select the pods", k, val)
		}
	}

	var own []*monitoringv1.ServiceMonitor
	var perTarget []monitoringv1.Endpoint
	for _, sm := range r.serviceMonitors {
		for k, val := range sm.Spec.Selector.MatchLabels {
			if svc.Labels[k] != val {
				t.Errorf("ServiceMonitor %s selector %s=%s does not select the Service", sm.Name, k, val)
			}
		}
		for _, ep := range sm.Spec.Endpoints {
			checkTimeout(t, "ServiceMonitor "+sm.Name, ep.Interval, ep.ScrapeTimeout)
			checkJob(t, "ServiceMonitor "+sm.Name, relabelTo(ep.RelabelConfigs, "job"))
			if ep.Port != "http" {
				t.Errorf("ServiceMonitor %s port %q", sm.Name, ep.Port)
			}
			if ep.Path == "/probe" {
				perTarget = append(perTarget, ep)
			} else {
				own = append(own, sm)
				want := v.Exporter.TelemetryPath
				if want == "" {
					want = "/metrics"
				}
				if ep.Path != want {
					t.Errorf("ServiceMonitor %s path %q, want %q", sm.Name, ep.Path, want)
				}
			}
		}
	}
	if got := len(own); got != map[bool]int{true: 1, false: 0}[on(v.ServiceMonitor)] {
		t.Errorf("%d ServiceMonitors of /metrics, serviceMonitor.enabled=%v", got, on(v.ServiceMonitor))
	}

	// One Probe or ServiceMonitor per target, for /probe?target=NAME,
	// labelled instance=NAME.
	scraped := map[string]int{}
	for _, p := range r.probes {
		checkTimeout(t, "Probe "+p.Name, p.Spec.Interval, p.Spec.ScrapeTimeout)
		checkJob(t, "Probe "+p.Name, p.Spec.JobName)
		if p.Spec.ProberSpec.Path != "/probe" || !strings.HasPrefix(p.Spec.ProberSpec.URL, svc.Name+"."+namespace+".svc:") {
			t.Errorf("Probe %s prober %+v, want the Service's /probe", p.Name, p.Spec.ProberSpec)
		}
		if p.Spec.Targets.StaticConfig == nil || len(p.Spec.Targets.StaticConfig.Targets) != 1 {
			t.Errorf("Probe %s: want one static target", p.Name)
			continue
		}
		scraped[p.Spec.Targets.StaticConfig.Targets[0]]++
	}
	for _, ep := range perTarget {
		names := ep.Params["target"]
		if len(names) != 1 || relabelTo(ep.RelabelConfigs, "instance") != names[0] {
			t.Errorf("per-target endpoint params %v relabelings %+v: want one target, its instance label", ep.Params, ep.RelabelConfigs)
			continue
		}
		scraped[names[0]]++
	}
	wantPerTarget := v.TargetScrape != nil && v.TargetScrape.Enabled
	for _, tg := range v.Targets {
		if want := map[bool]int{true: 1, false: 0}[wantPerTarget]; scraped[tg.Name] != want {
			t.Errorf("target %s scraped by %d objects, want %d", tg.Name, scraped[tg.Name], want)
		}
		delete(scraped, tg.Name)
	}
	if len(scraped) != 0 {
		t.Errorf("scrapes of unknown targets %v", scraped)
	}
	if wantPerTarget && v.TargetScrape.Kind == "ServiceMonitor" && len(r.probes) != 0 {
		t.Error("Probes although targetScrape.kind is ServiceMonitor")
	}
	if wantPerTarget {
		for _, tg := range v.Targets {
			if tg.Interval == "" {
				continue
			}
			found := false
			for _, p := range r.probes {
				found = found || (p.Spec.Targets.StaticConfig.Targets[0] == tg.Name && string(p.Spec.Interval) == tg.Interval)
			}
			for _, ep := range perTarget {
				found = found || (ep.Params["target"][0] == tg.Name && string(ep.Interval) == tg.Interval)
			}
			if !found {
				t.Errorf("target %s: its interval %s is not used", tg.Name, tg.Interval)
			}
		}
	}
}

func relabelTo(rcs []monitoringv1.RelabelConfig, label string) string {
	val := ""
	for _, rc := range rcs {
		if rc.TargetLabel == label && len(rc.SourceLabels) == 0 && rc.Replacement != nil {
			val = *rc.Replacement
		}
	}
	return val
}

func checkTimeout(t *testing.T, what string, interval, timeout monitoringv1.Duration) {
	t.Helper()
	i, err1 := time.ParseDuration(string(interval))
	to, err2 := time.ParseDuration(string(timeout))
	if err1 != nil || err2 != nil {
		t.Errorf("%s: interval %q, scrapeTimeout %q: %v %v", what, interval, timeout, err1, err2)
		return
	}
	if to >= i {
		t.Errorf("%s: scrapeTimeout %s not below interval %s", what, to, i)
	}
}

// checkJob: a job the chart sets is one the alert rules select, by the
// job matchers of alerts/campaign-alerts.yml as it is now.
func checkJob(t *testing.T, what, job string) {
	t.Helper()
	matchers := ruleJobMatchers(t)
	for _, m := range matchers {
		if m.MatchString(job) {
			return
		}
	}
	if len(matchers) > 0 {
		t.Errorf("%s: job %q matches none of the alert rules' job matchers %v", what, job, matchers)
	}
}

var jobMatcherRE = regexp.MustCompile(`\bjob\s*(=~|=)\s*("(?:[^"\\]|\\.)*")`)

// ruleJobMatchers returns the job="..." and job=~"..." matchers of the
// alert rules' expressions as anchored regular expressions, the way
// Prometheus applies them.
func ruleJobMatchers(t *testing.T) []*regexp.Regexp {
	t.Helper()
	var rules monitoringv1.PrometheusRuleSpec
	if err := yaml.Unmarshal(readRepoFile(t, "alerts/campaign-alerts.yml"), &rules); err != nil {
		t.Fatal(err)
	}
	var out []*regexp.Regexp
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, m := range jobMatcherRE.FindAllStringSubmatch(r.Expr.String(), -1) {
				v, err := strconv.Unquote(m[2])
				if err != nil {
					t.Fatalf("rule %s: job matcher %s: %v", r.Alert, m[0], err)
				}
				if m[1] == "=" {
					v = regexp.QuoteMeta(v)
				}
				out = append(out, regexp.MustCompile("^(?:"+v+")$"))
			}
		}
	}
	return out
}

// checkRules: the PrometheusRule's groups are alerts/campaign-alerts.yml as
// the repository holds it now, both decoded into the operator's type.
func checkRules(t *testing.T, r *rendered) {
	t.Helper()
	pr := one(t, "PrometheusRule", r.rules)
	if diff := rulesDiff(t, readRepoFile(t, "alerts/campaign-alerts.yml"), pr.Spec); diff != "" {
		t.Errorf("PrometheusRule differs from alerts/campaign-alerts.yml: %s", diff)
	}
}

// rulesDiff compares a Prometheus rule file with a PrometheusRule's spec and
// describes the first difference, or returns "".
func rulesDiff(t *testing.T, ruleFile []byte, spec monitoringv1.PrometheusRuleSpec) string {
	t.Helper()
	var want monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(ruleFile, &want); err != nil {
		t.Fatalf("alert rules: %v", err)
	}
	if len(want.Groups) == 0 {
		t.Fatal("alert rules: no groups")
	}
	if len(want.Groups) != len(spec.Groups) {
		return "number of groups"
	}
	for i := range want.Groups {
		w, g := want.Groups[i], spec.Groups[i]
		if len(w.Rules) != len(g.Rules) {
			return "number of rules in group " + w.Name
		}
		for j := range w.Rules {
			if !reflect.DeepEqual(w.Rules[j], g.Rules[j]) {
				return "rule " + w.Rules[j].Alert + w.Rules[j].Record + " in group " + w.Name
			}
		}
		w.Rules, g.Rules = nil, nil
		if !reflect.DeepEqual(w, g) {
			return "group " + w.Name
		}
	}
	return ""
}

func checkDashboard(t *testing.T, r *rendered, enabled bool) {
	t.Helper()
	var dashboards []*corev1.ConfigMap
	for _, cm := range r.configMaps {
		if _, ok := cm.Data["campaign-system.json"]; ok {
			dashboards = append(dashboards, cm)
		}
	}
	if !enabled {
		if len(dashboards) != 0 {
			t.Error("a dashboard ConfigMap although dashboard is off")
		}
		return
	}
	cm := one(t, "dashboard ConfigMap", dashboards)
	if cm.Labels["grafana_dashboard"] == "" {
		t.Errorf("dashboard ConfigMap labels %v: want grafana_dashboard for the sidecar", cm.Labels)
	}
	if cm.Data["campaign-system.json"] != string(readRepoFile(t, "dashboards/campaign-system.json")) {
		t.Error("dashboard ConfigMap differs from dashboards/campaign-system.json")
	}
}

func checkNetworkPolicy(t *testing.T, r *rendered, v values) {
	t.Helper()
	if v.NetworkPolicy == nil || !v.NetworkPolicy.Enabled {
		if len(r.networkPolicies) != 0 {
			t.Error("a NetworkPolicy although networkPolicy is off")
		}
		return
	}
	np := one(t, "NetworkPolicy", r.networkPolicies)
	d := one(t, "Deployment", r.deployments)
	for k, val := range np.Spec.PodSelector.MatchLabels {
		if d.Spec.Template.Labels[k] != val {
			t.Errorf("NetworkPolicy selector %s=%s does not select the pods", k, val)
		}
	}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.String() != "http" {
		t.Errorf("ingress %+v: want the http port only", np.Spec.Ingress)
	}
	hasEgress := false
	for _, pt := range np.Spec.PolicyTypes {
		hasEgress = hasEgress || pt == "Egress"
	}
	if hasEgress != (len(v.NetworkPolicy.EgressTo) > 0) {
		t.Errorf("policy types %v with egressTo %v", np.Spec.PolicyTypes, v.NetworkPolicy.EgressTo)
	}
}

// checkExporterAcceptsConfig parses the rendered config file with the
// exporter's own strict parser, its dsn_file paths pointing into a copy of
// the mounted Secret files made as the kubelet would (an existing Secret's
// content stands in as a placeholder DSN), and checks each target gets its
// DSN.
func checkExporterAcceptsConfig(t *testing.T, r *rendered, files map[string]secretFile, text string, v values) {
	t.Helper()
	root := t.TempDir()
	want := map[string]string{}
	for p, f := range files {
		dsn := "postgres://placeholder@" + f.secret + "/" + f.key
		if s := secretNamed(r, f.secret); s != nil && strings.HasPrefix(s.Name, release) {
			dsn = string(s.Data[f.key])
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(dsn+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, `"`+p+`"`, `"`+filepath.Join(root, p)+`"`)
		want[p] = dsn
	}
	f, err := config.Parse([]byte(text), collectorNames(t))
	if err != nil {
		t.Fatalf("the exporter rejects the chart's config file: %v\n%s", err, text)
	}
	if len(f.Targets) != len(v.Targets) {
		t.Fatalf("the exporter reads %d targets, values have %d", len(f.Targets), len(v.Targets))
	}
	for i, tg := range f.Targets {
		p, _ := strings.CutPrefix(tg.DSNFile, root)
		if tg.Name != v.Targets[i].Name || tg.DSN != want[p] {
			t.Errorf("the exporter reads target %d as %s from %s, want %s and its mounted DSN", i, tg.Name, p, v.Targets[i].Name)
		}
		if v.Targets[i].DSN != "" && tg.DSN != v.Targets[i].DSN {
			t.Errorf("target %s: the exporter reads a DSN other than the one in values", tg.Name)
		}
	}
}

// collectorNames are the exporter's collectors, one per queries/NAME.sql
// (a few collectors have a second query file, which only widens the list).
func collectorNames(t *testing.T) []string {
	t.Helper()
	sqls, err := filepath.Glob(filepath.Join(repoRoot, "queries", "*.sql"))
	if err != nil || len(sqls) == 0 {
		t.Fatalf("no queries/*.sql: %v", err)
	}
	var names []string
	for _, q := range sqls {
		names = append(names, strings.TrimSuffix(filepath.Base(q), ".sql"))
	}
	return names
}

// TestAppVersion: the chart's appVersion, the default image tag, is the
// exporter's version in VERSION.
func TestAppVersion(t *testing.T) {
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	readYAML(t, filepath.Join(chartDir, "Chart.yaml"), &chart)
	if want := strings.TrimSpace(string(readRepoFile(t, "VERSION"))); chart.AppVersion != want {
		t.Errorf("Chart.yaml appVersion %q, VERSION %q", chart.AppVersion, want)
	}
}

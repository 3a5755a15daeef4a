// Package charttest tests the campaign-exporter Helm chart: helm lint and
// helm template with each values file in the chart's ci/ directory, every
// rendered object decoded strictly into the Kubernetes and
// prometheus-operator Go types, and properties checked on the result.
//
// The helm binary is $HELM (the Makefile's pinned build), else helm on PATH.
package charttest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "../campaign-exporter"
	repoRoot  = "../.."
	release   = "campaign"
	namespace = "monitoring"
	// kubeVersion is the cluster version templates are rendered for; a helm
	// built with go install would otherwise assume v1.20, which the chart
	// refuses.
	kubeVersion = "1.33.0"
)

// helmBinary returns the helm to run; a test that needs helm fails, never
// skips, without one.
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	h, err := exec.LookPath("helm")
	if err != nil {
		t.Fatal("no helm: set HELM or put helm on PATH (make chart-test builds the pinned one)")
	}
	return h
}

// helm runs helm with args and returns its stdout, or its stderr as the error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// valuesFiles returns the chart's ci/*.yaml files.
func valuesFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("want at least 3 values files in ci/, got %v (%v)", files, err)
	}
	return files
}

// rendered is one chart rendering, its objects decoded into their types.
type rendered struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	serviceAccounts []*corev1.ServiceAccount
	secrets         []*corev1.Secret
	configMaps      []*corev1.ConfigMap
	networkPolicies []*networkingv1.NetworkPolicy
	serviceMonitors []*monitoringv1.ServiceMonitor
	probes          []*monitoringv1.Probe
	rules           []*monitoringv1.PrometheusRule
	// docs holds each document's YAML text by kind.
	docs map[string][]string
}

// render runs helm template with the values files and extra --set
// arguments in args, and decodes every object strictly.
func render(t *testing.T, args ...string) *rendered {
	t.Helper()
	out, err := helmTemplate(t, chartDir, args...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func helmTemplate(t *testing.T, chart string, args ...string) (string, error) {
	t.Helper()
	return helm(t, append([]string{"template", release, chart, "--namespace", namespace, "--kube-version", kubeVersion}, args...)...)
}

// decode splits a helm template output into documents and decodes each
// strictly (an unknown or duplicate field is an error) into the Go type of
// its kind; a kind the chart should not make is an error too.
func decode(out string) (*rendered, error) {
	r := &rendered{docs: map[string][]string{}}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("%w in:\n%s", err, doc)
		}
		if tm.Kind == "" {
			if strings.TrimSpace(stripComments(string(doc))) != "" {
				return nil, fmt.Errorf("a document without kind:\n%s", doc)
			}
			continue
		}
		into, ok := r.decoders()[tm.APIVersion+" "+tm.Kind]
		if !ok {
			return nil, fmt.Errorf("unexpected object %s %s", tm.APIVersion, tm.Kind)
		}
		if err := into(doc); err != nil {
			return nil, fmt.Errorf("%s: %w in:\n%s", tm.Kind, err, doc)
		}
		r.docs[tm.Kind] = append(r.docs[tm.Kind], string(doc))
	}
	return r, nil
}

// decoders maps each kind the chart may make to a strict decoder that
// appends the object to its list.
func (r *rendered) decoders() map[string]func([]byte) error {
	return map[string]func([]byte) error{
		"apps/v1 Deployment":                      into(&r.deployments),
		"v1 Service":                              into(&r.services),
		"v1 ServiceAccount":                       into(&r.serviceAccounts),
		"v1 Secret":                               into(&r.secrets),
		"v1 ConfigMap":                            into(&r.configMaps),
		"networking.k8s.io/v1 NetworkPolicy":      into(&r.networkPolicies),
		"monitoring.coreos.com/v1 ServiceMonitor": into(&r.serviceMonitors),
		"monitoring.coreos.com/v1 Probe":          into(&r.probes),
		"monitoring.coreos.com/v1 PrometheusRule": into(&r.rules),
	}
}

// into decodes a document strictly (an unknown or duplicate field is an
// error) into a new T and appends it to list.
func into[T any](list *[]*T) func([]byte) error {
	return func(doc []byte) error {
		o := new(T)
		if err := yaml.UnmarshalStrict(doc, o); err != nil {
			return err
		}
		*list = append(*list, o)
		return nil
	}
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// values reads a values file into a generic map, to derive expectations
// from what the user asked for rather than from the templates.
type values struct {
	Database struct {
		ExistingSecret    string `json:"existingSecret"`
		ExistingSecretKey string `json:"existingSecretKey"`
		DSN               string `json:"dsn"`
	} `json:"database"`
	Targets []struct {
		Name              string            `json:"name"`
		ExistingSecret    string            `json:"existingSecret"`
		ExistingSecretKey string            `json:"existingSecretKey"`
		DSN               string            `json:"dsn"`
		Collectors        []string          `json:"collectors"`
		MinInterval       map[string]string `json:"minInterval"`
		MaxConnections    int               `json:"maxConnections"`
		Interval          string            `json:"interval"`
		ScrapeTimeout     string            `json:"scrapeTimeout"`
	} `json:"targets"`
	ServiceMonitor *struct {
		Enabled bool `json:"enabled"`
	} `json:"serviceMonitor"`
	TargetScrape *struct {
		Enabled bool   `json:"enabled"`
		Kind    string `json:"kind"`
	} `json:"targetScrape"`
	PrometheusRule *struct {
		Enabled bool `json:"enabled"`
	} `json:"prometheusRule"`
	Dashboard *struct {
		Enabled bool `json:"enabled"`
	} `json:"dashboard"`
	NetworkPolicy *struct {
		Enabled  bool  `json:"enabled"`
		EgressTo []any `json:"egressTo"`
	} `json:"networkPolicy"`
	Exporter struct {
		TelemetryPath string `json:"telemetryPath"`
	} `json:"exporter"`
}

func readValues(t *testing.T, path string) values {
	t.Helper()
	var v values
	readYAML(t, path, &v)
	return v
}

// readYAML decodes the YAML file at path into v.
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readRepoFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Command obs-relabel runs a Prometheus config's relabelling on given targets and series with
// Prometheus' own relabel code (model/relabel, model/labels), so the gate judges the labels a
// scrape job really attaches, not a reading of its rules.
//
// It reads the config file itself: `global` and each scrape job's `relabel_configs`,
// `metric_relabel_configs`, `honor_labels` and the settings that become target labels, decoded
// strictly by Prometheus' own YAML types (an unknown key inside a relabel rule is an error, as
// in Prometheus); every other key of a job (its service discovery, TLS, auth) is not needed
// and is passed over.
//
// stdin, JSON: {"config": PATH, "scrapes": [{"job", "target", "labels": {...}, "series": [{...}]}]}
// stdout, JSON: {"jobs": {...}, "scrapes": [{"job", "target", "kept", "error", "labels",
// "target_labels", "up", "series": [{...} or null]}]}
// A config Prometheus would refuse: exit 2 and one line on stderr naming the file.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"go.yaml.in/yaml/v2"
)

type globalConfig struct {
	ScrapeInterval model.Duration         `yaml:"scrape_interval"`
	ScrapeTimeout  model.Duration         `yaml:"scrape_timeout"`
	NameValidation model.ValidationScheme `yaml:"metric_name_validation_scheme"`
	Rest           map[string]any         `yaml:",inline"`
}

type scrapeConfig struct {
	JobName              string                 `yaml:"job_name"`
	HonorLabels          bool                   `yaml:"honor_labels"`
	Params               map[string][]string    `yaml:"params"`
	ScrapeInterval       model.Duration         `yaml:"scrape_interval"`
	ScrapeTimeout        model.Duration         `yaml:"scrape_timeout"`
	MetricsPath          string                 `yaml:"metrics_path"`
	Scheme               string                 `yaml:"scheme"`
	NameValidation       model.ValidationScheme `yaml:"metric_name_validation_scheme"`
	RelabelConfigs       []*relabel.Config      `yaml:"relabel_configs"`
	MetricRelabelConfigs []*relabel.Config      `yaml:"metric_relabel_configs"`
	Rest                 map[string]any         `yaml:",inline"`
}

type configFile struct {
	Global        *globalConfig   `yaml:"global"`
	ScrapeConfigs []*scrapeConfig `yaml:"scrape_configs"`
	Rest          map[string]any  `yaml:",inline"`
}

type scrapeIn struct {
	Job    string              `json:"job"`
	Target string              `json:"target"`
	Labels map[string]string   `json:"labels"`
	Series []map[string]string `json:"series"`
}

type input struct {
	Config  string     `json:"config"`
	Scrapes []scrapeIn `json:"scrapes"`
}

type jobOut struct {
	RelabelConfigs       int    `json:"relabel_configs"`
	MetricRelabelConfigs int    `json:"metric_relabel_configs"`
	HonorLabels          bool   `json:"honor_labels"`
	ScrapeInterval       string `json:"scrape_interval"`
}

type scrapeOut struct {
	Job          string              `json:"job"`
	Target       string              `json:"target"`
	Kept         bool                `json:"kept"`
	Error        string              `json:"error,omitempty"`
	Labels       map[string]string   `json:"labels"`
	TargetLabels map[string]string   `json:"target_labels"`
	Up           map[string]string   `json:"up"`
	Series       []map[string]string `json:"series"`
}

type output struct {
	Jobs    map[string]jobOut `json:"jobs"`
	Scrapes []scrapeOut       `json:"scrapes"`
}

func main() {
	var in input
	raw, err := io.ReadAll(os.Stdin)
	if err == nil {
		err = json.Unmarshal(raw, &in)
	}
	if err != nil {
		fail("obs-relabel: the input is not the JSON it expects: %v", err)
	}
	jobs, err := loadJobs(in.Config)
	if err != nil {
		fail("%s: %s", in.Config, oneLine(err.Error()))
	}
	out := output{Jobs: map[string]jobOut{}}
	for name, job := range jobs {
		out.Jobs[name] = jobOut{
			RelabelConfigs:       len(job.RelabelConfigs),
			MetricRelabelConfigs: len(job.MetricRelabelConfigs),
			HonorLabels:          job.HonorLabels,
			ScrapeInterval:       job.ScrapeInterval.String(),
		}
	}
	for _, s := range in.Scrapes {
		job, ok := jobs[s.Job]
		if !ok {
			fail("%s: no scrape job %q", in.Config, s.Job)
		}
		out.Scrapes = append(out.Scrapes, scrape(job, s))
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fail("obs-relabel: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// loadJobs decodes the file and fills each job's defaults as config.ScrapeConfig.Validate
// does at this version: interval and timeout from `global` (whose defaults are
// config.DefaultGlobalConfig's), metrics path and scheme from config.DefaultScrapeConfig, and
// the name validation scheme; then validates every relabel rule with relabel.Config.Validate.
func loadJobs(path string) (map[string]*scrapeConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file configFile
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		return nil, err
	}
	global := globalConfig{
		ScrapeInterval: model.Duration(time.Minute),
		ScrapeTimeout:  model.Duration(10 * time.Second),
		NameValidation: model.UTF8Validation,
	}
	if file.Global != nil {
		if file.Global.ScrapeInterval != 0 {
			global.ScrapeInterval = file.Global.ScrapeInterval
		}
		if file.Global.ScrapeTimeout != 0 {
			global.ScrapeTimeout = file.Global.ScrapeTimeout
		}
		if file.Global.NameValidation != model.UnsetValidation {
			global.NameValidation = file.Global.NameValidation
		}
	}
	jobs := map[string]*scrapeConfig{}
	for i, job := range file.ScrapeConfigs {
		if job == nil {
			return nil, fmt.Errorf("scrape_configs[%d]: empty or null scrape config section", i)
		}
		where := fmt.Sprintf("scrape_configs[%d] (job %q)", i, job.JobName)
		if _, dup := jobs[job.JobName]; dup {
			return nil, fmt.Errorf("%s: found multiple scrape configs with job name %q", where, job.JobName)
		}
		if job.ScrapeInterval == 0 {
			job.ScrapeInterval = global.ScrapeInterval
		}
		if job.ScrapeTimeout > job.ScrapeInterval {
			return nil, fmt.Errorf("%s: scrape timeout greater than scrape interval", where)
		}
		if job.ScrapeTimeout == 0 {
			job.ScrapeTimeout = min(global.ScrapeTimeout, job.ScrapeInterval)
		}
		if job.MetricsPath == "" {
			job.MetricsPath = "/metrics"
		}
		if job.Scheme == "" {
			job.Scheme = "http"
		}
		if job.NameValidation == model.UnsetValidation {
			job.NameValidation = global.NameValidation
		}
		for _, set := range []struct {
			kind  string
			rules []*relabel.Config
		}{{"relabel_configs", job.RelabelConfigs}, {"metric_relabel_configs", job.MetricRelabelConfigs}} {
			kind, rules := set.kind, set.rules
			for j, rc := range rules {
				if rc == nil {
					return nil, fmt.Errorf("%s: %s[%d]: empty or null relabeling rule", where, kind, j)
				}
				if err := rc.Validate(job.NameValidation); err != nil {
					return nil, fmt.Errorf("%s: %s[%d]: %w", where, kind, j, err)
				}
			}
		}
		jobs[job.JobName] = job
	}
	return jobs, nil
}

// populateLabels is scrape.PopulateDiscoveredLabels and scrape.PopulateLabels of this
// Prometheus version, less the checks that need nothing from the relabelling: the job's
// settings become labels where the target has none, the target's relabel_configs run
// (relabel.ProcessBuilder), meta labels go, and `instance` defaults to the address. (The
// scrape package itself pulls in the TSDB, storage and every service discovery.)
func populateLabels(lb *labels.Builder, job *scrapeConfig, discovered map[string]string) (bool, error) {
	lb.Reset(labels.EmptyLabels())
	for name, value := range discovered {
		lb.Set(name, value)
	}
	defaults := []labels.Label{
		{Name: model.JobLabel, Value: job.JobName},
		{Name: model.ScrapeIntervalLabel, Value: job.ScrapeInterval.String()},
		{Name: model.ScrapeTimeoutLabel, Value: job.ScrapeTimeout.String()},
		{Name: model.MetricsPathLabel, Value: job.MetricsPath},
		{Name: model.SchemeLabel, Value: job.Scheme},
	}
	for _, l := range defaults {
		if lb.Get(l.Name) == "" {
			lb.Set(l.Name, l.Value)
		}
	}
	for k, v := range job.Params {
		if name := model.ParamLabelPrefix + k; len(v) > 0 && lb.Get(name) == "" {
			lb.Set(name, v[0])
		}
	}
	if !relabel.ProcessBuilder(lb, job.RelabelConfigs...) {
		return false, nil
	}
	addr := lb.Get(model.AddressLabel)
	if addr == "" {
		return false, errors.New("no address")
	}
	if strings.Contains(addr, "/") { // config.CheckTargetAddress
		return false, fmt.Errorf("%q is not a valid hostname", addr)
	}
	for _, name := range []string{model.ScrapeIntervalLabel, model.ScrapeTimeoutLabel} {
		d, err := model.ParseDuration(lb.Get(name))
		if err != nil {
			return false, fmt.Errorf("error parsing %s: %w", name, err)
		}
		if d == 0 {
			return false, fmt.Errorf("%s cannot be 0", name)
		}
	}
	lb.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, model.MetaLabelPrefix) {
			lb.Del(l.Name)
		}
	})
	if lb.Get(model.InstanceLabel) == "" {
		lb.Set(model.InstanceLabel, addr)
	}
	var invalid error
	lb.Range(func(l labels.Label) {
		if invalid == nil && !model.LabelValue(l.Value).IsValid() {
			invalid = fmt.Errorf("invalid label value for %q: %q", l.Name, l.Value)
		}
	})
	return invalid == nil, invalid
}

// publicLabels is scrape.Target.Labels: the labels a target puts on its series, every
// label with the reserved `__` prefix left out.
func publicLabels(all labels.Labels) labels.Labels {
	b := labels.NewBuilder(labels.EmptyLabels())
	all.Range(func(l labels.Label) {
		if !strings.HasPrefix(l.Name, model.ReservedLabelPrefix) {
			b.Set(l.Name, l.Value)
		}
	})
	return b.Labels()
}

// mutateSampleLabels is scrape.mutateSampleLabels: the target's labels join each scraped
// series (a series' own label of the same name kept as exported_<name> unless honor_labels,
// which keeps the series' own), then metric_relabel_configs run on it.
func mutateSampleLabels(series, target labels.Labels, honor bool, rcs []*relabel.Config) labels.Labels {
	lb := labels.NewBuilder(series)
	if honor {
		target.Range(func(l labels.Label) {
			if !series.Has(l.Name) {
				lb.Set(l.Name, l.Value)
			}
		})
	} else {
		var conflicting []labels.Label
		target.Range(func(l labels.Label) {
			if v := series.Get(l.Name); v != "" {
				conflicting = append(conflicting, labels.Label{Name: l.Name, Value: v})
			}
			lb.Set(l.Name, l.Value)
		})
		slices.SortStableFunc(conflicting, func(a, b labels.Label) int { return len(a.Name) - len(b.Name) })
		for _, l := range conflicting {
			name := l.Name
			for {
				name = model.ExportedLabelPrefix + name
				if lb.Get(name) == "" {
					lb.Set(name, l.Value)
					break
				}
			}
		}
	}
	if !relabel.ProcessBuilder(lb, rcs...) {
		return labels.EmptyLabels()
	}
	return lb.Labels()
}

// reportLabels is scrape.mutateReportSampleLabels for `up`: the target's labels, which
// metric_relabel_configs never touch.
func reportLabels(target labels.Labels) labels.Labels {
	lb := labels.NewBuilder(labels.FromStrings(model.MetricNameLabel, "up"))
	target.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
	return lb.Labels()
}

func scrape(job *scrapeConfig, s scrapeIn) scrapeOut {
	out := scrapeOut{Job: s.Job, Target: s.Target}
	lb := labels.NewBuilder(labels.EmptyLabels())
	kept, err := populateLabels(lb, job, s.Labels)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	if !kept {
		return out
	}
	all := lb.Labels()
	target := publicLabels(all)
	out.Kept = true
	out.Labels = all.Map()
	out.TargetLabels = target.Map()
	out.Up = reportLabels(target).Map()
	for _, series := range s.Series {
		result := mutateSampleLabels(labels.FromMap(series), target, job.HonorLabels, job.MetricRelabelConfigs)
		if result.IsEmpty() {
			out.Series = append(out.Series, nil)
		} else {
			out.Series = append(out.Series, result.Map())
		}
	}
	return out
}

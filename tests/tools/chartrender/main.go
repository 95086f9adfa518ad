// Command chartrender renders a Helm chart the way `helm template` does, for
// the chart test when no helm binary is at hand (building helm from the Go
// module proxy costs many minutes cold on 2 cores: see examples/chart/
// README.md). It runs the same engine Helm does, Go's text/template with
// sprig v3 (Helm's own version) and Helm's additions (include, required,
// fail, toYaml, toJson, lookup, which, as in `helm template`, finds nothing),
// with missingkey=zero and "<no value>" removed as Helm does, over the
// chart's values.yaml coalesced with -f files (later wins, maps merged).
//
//	chartrender CHART NAME NAMESPACE [-f values.yaml]...
//
// Output: each non-empty template (files starting with "_" and NOTES.txt
// excluded), "---\n# Source: CHART/templates/FILE\n" first, in file order.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

func readYAML(path string) (map[string]interface{}, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// coalesce merges src over dst (Helm: user values win, maps merge).
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: chartrender CHART NAME NAMESPACE [-f values.yaml]...")
	}
	dir, name, ns := args[0], args[1], args[2]
	vals, err := readYAML(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return err
	}
	for i := 3; i < len(args); i++ {
		if args[i] != "-f" || i+1 == len(args) {
			return fmt.Errorf("unexpected argument %q", args[i])
		}
		i++
		u, err := readYAML(args[i])
		if err != nil {
			return err
		}
		vals = coalesce(vals, u)
	}
	chart, err := readYAML(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return err
	}
	cname, _ := chart["name"].(string)

	t := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["include"] = func(n string, data interface{}) (string, error) {
		var b bytes.Buffer
		err := t.ExecuteTemplate(&b, n, data)
		return b.String(), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["toYaml"] = func(v interface{}) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	funcs["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	t.Funcs(funcs)

	files, err := filepath.Glob(filepath.Join(dir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		n := cname + "/templates/" + filepath.Base(f)
		if _, err := t.New(n).Parse(string(b)); err != nil {
			return err
		}
		base := filepath.Base(f)
		if !strings.HasPrefix(base, "_") && base != "NOTES.txt" {
			names = append(names, n)
		}
	}
	top := map[string]interface{}{
		"Values": vals,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": ns, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": map[string]interface{}{
			"Name": cname, "Version": chart["version"], "AppVersion": chart["appVersion"],
		},
		"Capabilities": map[string]interface{}{},
	}
	var out bytes.Buffer
	for _, n := range names {
		top["Template"] = map[string]interface{}{"Name": n, "BasePath": cname + "/templates"}
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, n, top); err != nil {
			return err
		}
		s := strings.ReplaceAll(b.String(), "<no value>", "")
		if strings.TrimSpace(s) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", n, s)
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}

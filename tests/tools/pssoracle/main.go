// pssoracle: the reference for src/translate/podsecurity.c. Reads a JSON
// array of pods on stdin and prints, for each, the PodSecurity verdict of
// Kubernetes' own evaluator (k8s.io/pod-security-admission, version
// "latest") at baseline and restricted, as the admission plugin words it.
// tests/unit/translate/podsecurity.c compares our checker with the file
// this writes (tests/resources/podsecurity/expected.json); run
// tests/tools/pssoracle/regen after changing the cases.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

func main() {
	var pods []corev1.Pod
	if err := json.NewDecoder(os.Stdin).Decode(&pods); err != nil {
		fmt.Fprintln(os.Stderr, "pssoracle:", err)
		os.Exit(1)
	}
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pssoracle:", err)
		os.Exit(1)
	}
	out := []map[string]string{}
	for i := range pods {
		r := map[string]string{"name": pods[i].Name}
		for _, lvl := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
			lv := api.LevelVersion{Level: lvl, Version: api.LatestVersion()}
			res := policy.AggregateCheckResults(ev.EvaluatePod(lv, &pods[i].ObjectMeta, &pods[i].Spec))
			msg := ""
			if !res.Allowed {
				parts := []string{}
				for j := range res.ForbiddenReasons {
					parts = append(parts, fmt.Sprintf("%s (%s)", res.ForbiddenReasons[j], res.ForbiddenDetails[j]))
				}
				msg = fmt.Sprintf("violates PodSecurity %q: %s", string(lvl)+":latest", strings.Join(parts, ", "))
			}
			r[string(lvl)] = msg
		}
		out = append(out, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}

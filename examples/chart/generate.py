#!/usr/bin/env python3
"""Generate the Helm chart in examples/chart from `vcluster render`.

usage: generate.py VCLUSTER_CLI [--check] [--out DIR]

The chart is not a second copy of the manifests: every template here is the
output of `vcluster render` (the library's own templates and values mapping,
src/lifecycle/templates and k8s_render.c), rendered once per supported values
variant with a sentinel release name and namespace, which are then turned
into {{ .Release.Name }} / {{ .Release.Namespace }}. `--check` regenerates
into a temporary directory and fails on any difference from the committed
chart (the `chart-generated` test), so the chart cannot drift from the
library: change a template or a default and the test says "regenerate".

Why a script over the CLI and not a mode of the library: it uses only what a
user has (`vcluster render`), keeps Helm's template syntax out of the C code
and the public API, and whatever `vcluster render` prints is by construction
what the chart renders.

What the chart supports: the values in KNOBS below (the default values and a
few common changes). The chart compares the whole .Values tree with the
variants it was generated for and fails, naming the supported keys, on
anything else: no value is silently ignored. For other values use
`vcluster render NAME -f values.yaml` (the same manifests, for any values).
Adding a knob is one line here, at the price of the variants multiplying
(the config Secret holds one base64 config.yaml per variant).
"""
import argparse
import base64
import filecmp
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "chartrelname"      # sentinels: valid DNS labels found nowhere else
NS = "chartrelns"
CIDR = "10.96.0.0/12"      # what `vcluster render` assumes when it cannot ask the host

# (label, {choice: values tree}); the first choice of each is the default.
# Every key any choice sets is in values.yaml with its default value.
KNOBS = [
    ("ingresses", {
        "off": {},
        "on": {"sync": {"toHost": {"ingresses": {"enabled": True}}}},
    }),
    ("store", {
        "default": {},
        "database": {"controlPlane": {"backingStore": {"database": {"embedded": {"enabled": True}}}}},
        "etcd": {"controlPlane": {"backingStore": {"etcd": {"embedded": {"enabled": True}}}}},
    }),
]
DEFAULTS = {
    "sync": {"toHost": {"ingresses": {"enabled": False}}},
    "controlPlane": {"backingStore": {"database": {"embedded": {"enabled": False}},
                                      "etcd": {"embedded": {"enabled": False}}}},
}
SUPPORTED = ["sync.toHost.ingresses.enabled",
             "controlPlane.backingStore.database.embedded.enabled",
             "controlPlane.backingStore.etcd.embedded.enabled (at most one of the two)"]


def merge(a, b):
    out = json.loads(json.dumps(a))
    for k, v in b.items():
        out[k] = merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def variants():
    """[(key, values tree as Helm sees it)]: the defaults with each combination."""
    out = []
    for combo in itertools.product(*[sorted(c.items(), key=lambda kv: list(c).index(kv[0])) for _, c in KNOBS]):
        key = ",".join(f"{label}={choice}" for (label, _), (choice, _) in zip(KNOBS, combo))
        tree = DEFAULTS
        for _, v in combo:
            tree = merge(tree, v)
        out.append((key, tree))
    return out


def helm_json(tree):
    """The text Helm's toJson gives for .Values (Go's encoding/json: sorted
    keys, no spaces, <>& escaped)."""
    s = json.dumps(tree, sort_keys=True, separators=(",", ":"))
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_yaml(v, ind=0):
    """A small YAML writer for the values trees (maps of maps and scalars)."""
    lines = []
    for k, x in v.items():
        if isinstance(x, dict):
            lines.append(" " * ind + f"{k}:")
            lines.extend(to_yaml(x, ind + 2))
        else:
            lines.append(" " * ind + f"{k}: {json.dumps(x)}")
    return lines


def render(cli, tree, tmp):
    path = os.path.join(tmp, "values.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(to_yaml(tree)) + "\n")
    # a host that refuses at once: the render falls back to CIDR, as it does
    # wherever the host cannot be asked (the chart looks the range up itself)
    kc = os.path.join(tmp, "nohost.kubeconfig")
    with open(kc, "w", encoding="utf-8") as f:
        f.write("apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster:\n    server: https://127.0.0.1:9\n"
                "contexts:\n- name: x\n  context:\n    cluster: x\n    user: x\ncurrent-context: x\n"
                "users:\n- name: x\n  user:\n    token: x\n")
    env = dict(os.environ, KUBECONFIG=kc)
    r = subprocess.run([cli, "render", NAME, "-n", NS, "-f", path], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"generate.py: vcluster render failed ({r.returncode}): {r.stderr}")
    return r.stdout


def split_docs(text):
    """[(kind, name, text)] of a `---`-separated stream, in order."""
    docs = []
    for part in re.split(r"^---\n", text, flags=re.M):
        if not part.strip():
            continue
        kind = re.search(r"^kind: (\S+)$", part, re.M).group(1)
        name = re.search(r"^metadata:\n(?:  .*\n)*?  name: (\S+)$", part, re.M).group(1)
        docs.append((kind, name, part))
    return docs


def check_b64(text):
    """The sentinels must not hide inside base64 data (they would not be
    replaced): fail loudly if a decoded value names them."""
    for m in re.finditer(r"^  [\w.-]+: ([A-Za-z0-9+/=]{16,})$", text, re.M):
        try:
            dec = base64.b64decode(m.group(1)).decode("utf-8", "replace")
        except ValueError:
            continue
        for s in (NAME, NS, CIDR):
            if s in dec:
                sys.exit(f"generate.py: {s} appears inside base64 data; the chart cannot template it")


def templatize(text):
    text = text.replace("{{", '{{ "{{" }}')
    # the ClusterRole's name, vc-NAME-v-NS cut to 63 characters (k8s_render.c)
    text = text.replace(f"vc-{NAME}-v-{NS}", '{{ include "vcluster.clusterRoleName" . }}')
    for sent, expr in ((NAME, ".Release.Name"), (NS, ".Release.Namespace"),
                       (CIDR, 'include "vcluster.serviceCIDR" .')):
        # a whole plain scalar gets quoted (a release named "123" stays a string)
        text = re.sub(rf"(?m)(: |- ){re.escape(sent)}$", lambda m: m.group(1) + "{{ " + expr + " | quote }}", text)
        text = text.replace(sent, "{{ " + expr + " }}")
    return text


# Per-variant data moved into _helpers.tpl, so that objects differing only in
# them (every object but the StatefulSet's containers) are one template.
EXTRACT = [
    ("configHash", re.compile(r"(?m)^(\s+vcluster\.loft\.sh/config-hash: )(\S+)$")),
    ("configYAML", re.compile(r"(?m)^(  config\.yaml: )([A-Za-z0-9+/=]+)$")),
]


def extract(text, found):
    """Replace the EXTRACT values by markers; found[name] gets the value."""
    for name, rx in EXTRACT:
        def sub(m, name=name):
            if found.setdefault(name, m.group(2)) != m.group(2):
                sys.exit(f"generate.py: two different {name} values in one render")
            return m.group(1) + f"@@{name}@@"
        text = rx.sub(sub, text)
    return text


def markers(text):
    for name, _ in EXTRACT:
        text = text.replace(f"@@{name}@@", '{{ include "vcluster.%s" . | quote }}' % name)
    return text


def file_name(i, kind, name):
    name = name.replace(f"vc-{NAME}-v-{NS}", "clusterrole").replace(NAME, "release").replace(NS, "ns")
    return f"{i:02d}-{kind.lower()}-{name}.yaml"


HELPERS = '''{{/* GENERATED by examples/chart/generate.py from `vcluster render`: do not edit. */}}

{{/* The values variant this chart was generated for that .Values is, or fail. */}}
{{- define "vcluster.variant" -}}
{{- $variants := dict %(table)s -}}
{{- $v := get $variants (toJson .Values) -}}
{{- if not $v -}}
{{- fail (printf "this chart renders the default values and changes to these keys only: %(supported)s (got %%s). For any other values render the manifests with `vcluster render %%s -n %%s -f values.yaml`" (toJson .Values) .Release.Name .Release.Namespace) -}}
{{- end -}}
{{- $v -}}
{{- end -}}

{{/* vc-NAME-v-NS cut to 63 characters without trailing dashes (as k8s_render.c) */}}
{{- define "vcluster.clusterRoleName" -}}
{{- regexReplaceAll "-+$" (printf "vc-%%s-v-%%s" .Release.Name .Release.Namespace | trunc 63) "" -}}
{{- end -}}

{{/* The host's service range: its ServiceCIDR "kubernetes" (networking.k8s.io/v1,
   Kubernetes >= 1.33) when Helm can look it up (install, upgrade), else %(cidr)s,
   as `vcluster render` assumes when it cannot ask the host. */}}
{{- define "vcluster.serviceCIDR" -}}
{{- $cidr := "%(cidr)s" -}}
{{- $sc := lookup "networking.k8s.io/v1" "ServiceCIDR" "" "kubernetes" -}}
{{- if and $sc $sc.spec $sc.spec.cidrs -}}{{- $cidr = index $sc.spec.cidrs 0 -}}{{- end -}}
{{- $cidr -}}
{{- end -}}
'''


def generate(cli, out):
    with tempfile.TemporaryDirectory() as tmp:
        rendered = []  # [(variant key, values tree, [(kind, name, text)])]
        for key, tree in variants():
            text = render(cli, tree, tmp)
            check_b64(text)
            found = {}
            docs = [(k, n, extract(t, found)) for k, n, t in split_docs(text)
                    if not (k == "Namespace" and n == NS)]
            if sorted(found) != sorted(n for n, _ in EXTRACT):
                sys.exit(f"generate.py: the render has no {[n for n, _ in EXTRACT if n not in found]}")
            rendered.append((key, tree, docs, found))
        version = subprocess.run([cli, "version"], capture_output=True, text=True, check=True).stdout
        m = re.search(r"(\d+\.\d+\.\d+)", version)
        version = m.group(1) if m else "0.0.0"

    # objects in the order of the default variant's stream, then any others
    order = []
    for _, _, docs, _ in rendered:
        for kind, name, _ in docs:
            if (kind, name) not in order:
                order.append((kind, name))

    tdir = os.path.join(out, "templates")
    os.makedirs(tdir)
    keys = [k for k, _, _, _ in rendered]
    for i, (kind, name) in enumerate(order):
        texts = {}  # text -> [variant keys]
        for key, _, docs, _ in rendered:
            for k, n, t in docs:
                if (k, n) == (kind, name):
                    texts.setdefault(t, []).append(key)
        body = ['{{/* GENERATED by examples/chart/generate.py from `vcluster render`: do not edit. */}}']
        present = [k for ks in texts.values() for k in ks]
        if len(texts) == 1 and len(present) == len(keys):
            body.append('{{- $_ := include "vcluster.variant" . }}')
            body.append(markers(templatize(next(iter(texts)))).rstrip("\n"))
        else:
            body.append('{{- $v := include "vcluster.variant" . }}')
            first = True
            for t, ks in texts.items():
                cond = " ".join(f'(eq $v "{k}")' for k in ks)
                cond = f"or {cond}" if len(ks) > 1 else cond[1:-1]
                body.append(("{{- if " if first else "{{- else if ") + cond + " }}")
                body.append(markers(templatize(t)).rstrip("\n"))
                first = False
            body.append("{{- end }}")
        with open(os.path.join(tdir, file_name(i, kind, name)), "w", encoding="utf-8") as f:
            f.write("\n".join(body) + "\n")

    # Go raw strings: the JSON goes in as it is
    table = " ".join(f'`{helm_json(tree)}` "{key}"' for key, tree, _, _ in rendered)
    with open(os.path.join(tdir, "_helpers.tpl"), "w", encoding="utf-8") as f:
        f.write(HELPERS % {"table": table, "supported": ", ".join(SUPPORTED), "cidr": CIDR})
        for name, _ in EXTRACT:
            f.write(f'\n{{{{/* {name} of each variant, as `vcluster render` gives it */}}}}\n'
                    f'{{{{- define "vcluster.{name}" -}}}}\n{{{{- get (dict')
            for key, _, _, found in rendered:
                f.write(f'\n  "{key}" "{found[name]}"')
            f.write(') (include "vcluster.variant" .) -}}\n{{- end -}}\n')
    with open(os.path.join(tdir, "NOTES.txt"), "w", encoding="utf-8") as f:
        f.write("{{/* GENERATED by examples/chart/generate.py: do not edit. */}}\n"
                "Virtual cluster {{ .Release.Name }} in namespace {{ .Release.Namespace }}"
                " ({{ include \"vcluster.variant\" . }}).\n"
                "Its certificates are made by the pod's init container at first start.\n"
                "Connect: vcluster connect {{ .Release.Name }} -n {{ .Release.Namespace }}\n")
    with open(os.path.join(out, "Chart.yaml"), "w", encoding="utf-8") as f:
        f.write("# GENERATED by examples/chart/generate.py: do not edit.\n"
                "apiVersion: v2\nname: vcluster\n"
                "description: A libvcluster virtual cluster (kubernetes driver), the same host objects as "
                "`vcluster render`\n"
                f"type: application\nversion: {version}\nappVersion: \"{version}\"\n")
    with open(os.path.join(out, "values.yaml"), "w", encoding="utf-8") as f:
        f.write("# GENERATED by examples/chart/generate.py: do not edit.\n"
                "# vcluster.yaml values. This chart renders these defaults and changes to\n"
                "# the keys below only (any other value fails the render, naming them);\n"
                "# `vcluster render NAME -f values.yaml` renders any values.\n")
        f.write("\n".join(to_yaml(DEFAULTS)) + "\n")
    with open(os.path.join(out, "variants.json"), "w", encoding="utf-8") as f:
        json.dump([{"variant": k, "values": t} for k, t, _, _ in rendered], f, indent=1, sort_keys=True)
        f.write("\n")


GENERATED = ["Chart.yaml", "values.yaml", "variants.json", "templates"]


def same_tree(a, b):
    c = filecmp.dircmp(a, b)
    if c.left_only or c.right_only or c.diff_files or c.funny_files:
        return False
    return all(same_tree(os.path.join(a, d), os.path.join(b, d)) for d in c.common_dirs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cli", help="the vcluster CLI (build-test/examples/cli/vcluster)")
    ap.add_argument("--check", action="store_true", help="fail if the committed chart differs")
    ap.add_argument("--out", default=HERE, help="chart directory (default: this one)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gen = os.path.join(tmp, "chart")
        os.makedirs(gen)
        generate(os.path.abspath(a.cli), gen)
        if a.check:
            bad = [g for g in GENERATED
                   if not (os.path.isdir(os.path.join(gen, g)) and os.path.isdir(os.path.join(a.out, g))
                           and same_tree(os.path.join(gen, g), os.path.join(a.out, g)))
                   and not (os.path.isfile(os.path.join(gen, g)) and os.path.isfile(os.path.join(a.out, g))
                            and filecmp.cmp(os.path.join(gen, g), os.path.join(a.out, g), shallow=False))]
            if bad:
                for g in bad:
                    subprocess.run(["diff", "-ru", os.path.join(a.out, g), os.path.join(gen, g)])
                sys.exit(f"FAIL: examples/chart is out of date ({', '.join(bad)}): "
                         "run examples/chart/generate.py build-test/examples/cli/vcluster")
            print(f"ok: examples/chart matches `vcluster render` ({len(variants())} variants)")
            print("1 passed, 0 failed")
            return
        for g in GENERATED:
            p = os.path.join(a.out, g)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
            src = os.path.join(gen, g)
            (shutil.copytree if os.path.isdir(src) else shutil.copyfile)(src, p)
        print(f"wrote {a.out}: {len(variants())} variants")


if __name__ == "__main__":
    main()

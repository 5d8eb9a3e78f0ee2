{{/* One Application: dict with name, path, namespace and, optionally, helm. */}}
{{- define "demo.app" -}}
apiVersion: berth.dev/v1alpha1
kind: Application
metadata:
  name: {{ .name }}
spec:
  project: {{ .root.Values.project }}
  source:
    repoURL: {{ required "set repoURL to the repository holding examples/" .root.Values.repoURL }}
    targetRevision: {{ .root.Values.targetRevision }}
    path: {{ .path }}
  destination:
    server: {{ .root.Values.destServer }}
    namespace: {{ .namespace }}
  syncPolicy:
    {{- if .root.Values.automated }}
    automated:
      prune: true
      selfHeal: true
    {{- end }}
    syncOptions:
      - CreateNamespace=true
{{- end -}}

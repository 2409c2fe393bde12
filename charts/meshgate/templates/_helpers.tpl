{{- define "meshgate.name" -}}meshgate{{- end -}}

{{- define "meshgate.fullname" -}}
{{- if contains "meshgate" .Release.Name -}}{{ .Release.Name | trunc 52 | trimSuffix "-" }}{{- else -}}{{ printf "%s-meshgate" .Release.Name | trunc 52 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "meshgate.webhookName" -}}{{ include "meshgate.fullname" . }}-webhook{{- end -}}

{{- define "meshgate.labels" -}}
app.kubernetes.io/name: meshgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "meshgate.selectorLabels" -}}
app.kubernetes.io/name: meshgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "meshgate.tag" -}}{{ default .Chart.AppVersion .Values.global.tag }}{{- end -}}

{{/* Istio's image rule: a value with "/" is a full reference, otherwise hub/image:tag. */}}
{{- define "meshgate.image" -}}
{{- if .Values.webhook.image -}}{{ .Values.webhook.image }}
{{- else if contains "/" .Values.global.proxy.image -}}{{ .Values.global.proxy.image }}
{{- else -}}{{ printf "%s/%s:%s" .Values.global.hub .Values.global.proxy.image (include "meshgate.tag" .) }}{{- end -}}
{{- end -}}

{{/* The excluded namespaces: the chart's own and kube-system always, plus the configured ones. */}}
{{- define "meshgate.excludedNamespaces" -}}
{{- $list := list "kube-system" .Release.Namespace -}}
{{- range .Values.sidecarInjectorWebhook.excludedNamespaces }}{{- $list = append $list . -}}{{- end -}}
{{- toJson (uniq $list) -}}
{{- end -}}

{{/*
TLS material for mode "generate", made once per render and shared by the Secret and the webhook
configurations (a second genCA call would produce a CA that does not match).
*/}}
{{- define "meshgate.generatedTls" -}}
{{- $svc := include "meshgate.webhookName" . -}}
{{- $ns := .Release.Namespace -}}
{{- /* An upgrade reuses the Secret already installed, so the caBundle never drifts from the serving certificate. */ -}}
{{- $existing := lookup "v1" "Secret" $ns (printf "%s-tls" $svc) -}}
{{- if and $existing (index ($existing.data | default dict) "ca.crt") -}}
{{- toJson (dict "ca" (index $existing.data "ca.crt") "crt" (index $existing.data "tls.crt") "key" (index $existing.data "tls.key")) -}}
{{- else -}}
{{- $ca := genCA "meshgate-webhook-ca" (int .Values.tls.validityDays) -}}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) nil $names (int .Values.tls.validityDays) $ca -}}
{{- toJson (dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc)) -}}
{{- end -}}
{{- end -}}

{{- define "meshgate.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" -}}{{ required "tls.secretName is required with tls.mode=secret" .Values.tls.secretName }}{{- else -}}{{ include "meshgate.webhookName" . }}-tls{{- end -}}
{{- end -}}

{{/*
The webhook hosted elsewhere, called by URL: "true" in webhook.url mode (a function behind its platform's HTTPS
front, outside the cluster) and in the Knative mode (serverless.enabled); empty for the in-cluster Deployment.
*/}}
{{- define "meshgate.urlMode" -}}
{{- if or .Values.webhook.url .Values.serverless.enabled }}true{{ end -}}
{{- end -}}

{{- /* Empty in url mode: the API server trusts its system roots, as for Cloud Run's and Function URLs' public certificates. */ -}}
{{- define "meshgate.urlCaBundle" -}}
{{- if .Values.webhook.url -}}
{{ .Values.webhook.caBundle }}
{{- else -}}
{{ .Values.serverless.caBundle }}
{{- end -}}
{{- end -}}

{{/*
A webhook's clientConfig (root: the chart's context, path: /inject or /validate, caBundle). By URL: webhook.url, or
the Knative route. A runtime that serves only its root (Knative Functions: webhook.urlPaths=false, or
serverless.function=true) gets the root for both webhooks; the function routes each review by its kind.
Otherwise the in-cluster Service.
*/}}
{{- define "meshgate.clientConfig" -}}
{{- $v := .root.Values -}}
{{- if $v.webhook.url }}
url: {{ printf "%s%s" ($v.webhook.url | trimSuffix "/") (ternary .path "/" (ne $v.webhook.urlPaths false)) }}
{{- else if $v.serverless.enabled }}
url: {{ printf "%s%s" (required "serverless.url (the Knative route, https://…) is required with serverless.enabled" $v.serverless.url | trimSuffix "/") (ternary "/" .path (eq $v.serverless.function true)) }}
{{- else }}
service:
  name: {{ include "meshgate.webhookName" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: 443
{{- end }}
{{- if .caBundle }}
caBundle: {{ .caBundle }}
{{- end }}
{{- end -}}

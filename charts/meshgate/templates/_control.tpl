{{/* meshgate control: names, labels, address and TLS material. */}}
{{- define "meshgate.controlName" -}}{{ include "meshgate.fullname" . }}-control{{- end -}}

{{- define "meshgate.controlSelectorLabels" -}}
app.kubernetes.io/name: meshgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control
{{- end -}}

{{/* The address sidecars connect to: global.meshgate.controlAddress, else the control Service. */}}
{{- define "meshgate.controlAddress" -}}
{{- if .Values.global.meshgate.controlAddress -}}{{ .Values.global.meshgate.controlAddress }}
{{- else -}}https://{{ include "meshgate.controlName" . }}.{{ .Release.Namespace }}.svc:{{ .Values.control.port }}{{- end -}}
{{- end -}}

{{- define "meshgate.controlTlsSecretName" -}}
{{- if .Values.control.tls.secretName -}}{{ .Values.control.tls.secretName }}{{- else -}}{{ include "meshgate.controlName" . }}-tls{{- end -}}
{{- end -}}

{{/*
The control plane's own CA and serving certificate (tls.mode generate, no control.tls.secretName). Made once per
render and memoised in the values map every template shares: the Secret (control.yaml) and the CA bundle the
injector values carry (sidecar-injector-configmap.yaml) must be the same CA, and every genCA call makes a new one.
An upgrade reuses the installed Secret, so the CA sidecars trust never drifts from the serving pair.
*/}}
{{- define "meshgate.controlGeneratedTls" -}}
{{- if not (hasKey .Values.control "_generatedTls") -}}
{{- $svc := include "meshgate.controlName" . -}}
{{- $ns := .Release.Namespace -}}
{{- $existing := lookup "v1" "Secret" $ns (printf "%s-tls" $svc) -}}
{{- if and $existing (index ($existing.data | default dict) "ca.crt") -}}
{{- $_ := set .Values.control "_generatedTls" (toJson (dict "ca" (index $existing.data "ca.crt") "crt" (index $existing.data "tls.crt") "key" (index $existing.data "tls.key"))) -}}
{{- else -}}
{{- $ca := genCA "meshgate-control-ca" (int .Values.tls.validityDays) -}}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.control.clusterDomain) -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) nil $names (int .Values.tls.validityDays) $ca -}}
{{- $_ := set .Values.control "_generatedTls" (toJson (dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc))) -}}
{{- end -}}
{{- end -}}
{{- index .Values.control "_generatedTls" -}}
{{- end -}}

{{/* The CA bundle (base64 PEM) sidecars verify the control plane with: given, or the generated CA. */}}
{{- define "meshgate.controlCaBundle" -}}
{{- if .Values.global.meshgate.controlCaBundle -}}{{ .Values.global.meshgate.controlCaBundle }}
{{- else if .Values.control.tls.secretName -}}{{ .Values.control.tls.caBundle }}
{{- else if eq .Values.tls.mode "generate" -}}{{ (include "meshgate.controlGeneratedTls" . | fromJson).ca }}
{{- end -}}
{{- end -}}

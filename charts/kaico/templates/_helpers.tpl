{{/* Names and labels shared by every template. */}}

{{- define "kaico.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release-qualified prefix of every object; "kaico" alone when the release is named kaico. */}}
{{- define "kaico.fullname" -}}
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

{{- define "kaico.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kaico.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kaico.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kaico.labels" -}}
{{ include "kaico.commonLabels" . }}
app.kubernetes.io/name: {{ include "kaico.name" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The uninstall hook's objects: a name of their own, so no selector of the operator's matches them. */}}
{{- define "kaico.cleanupLabels" -}}
{{ include "kaico.commonLabels" . }}
app.kubernetes.io/name: {{ include "kaico.name" . }}-cleanup
app.kubernetes.io/component: cleanup
{{- end }}

{{- define "kaico.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kaico.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* A digest pins the image exactly; otherwise the tag, defaulting to the chart's appVersion. */}}
{{- define "kaico.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Prometheus job label of the operator's series: a ServiceMonitor names it after the Service. */}}
{{- define "kaico.metricsJob" -}}
{{- default (printf "%s-metrics" (include "kaico.fullname" .)) .Values.metrics.prometheusRule.job }}
{{- end }}

{{/* Whether the replicas elect a leader (always with 2 or more). */}}
{{- define "kaico.leaderElection" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.leaderElection.enabled }}true{{ end }}
{{- end }}

{{/* The leader Lease: one name, the only Lease kaico's Role may touch. */}}
{{- define "kaico.leaseName" -}}
{{- printf "%s-leader" (include "kaico.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The metrics endpoint's scheme: HTTPS unless metrics.secure is turned off. */}}
{{- define "kaico.metricsScheme" -}}
{{- if .Values.metrics.secure }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* The Secret with the metrics serving certificate: the user's, or the one the chart makes. */}}
{{- define "kaico.metricsTLSSecret" -}}
{{- default (printf "%s-metrics-tls" (include "kaico.fullname" .)) .Values.metrics.tls.secretName }}
{{- end }}

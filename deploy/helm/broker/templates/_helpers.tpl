{{- define "broker.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "broker.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "broker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "broker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "broker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "broker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "broker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "broker.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "broker.configMapName" -}}
{{- default (printf "%s-config" (include "broker.fullname" .)) .Values.existingConfigMap -}}
{{- end -}}

{{- define "broker.envSecretName" -}}
{{- default (printf "%s-env" (include "broker.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "broker.filesSecretName" -}}
{{- default (printf "%s-files" (include "broker.fullname" .)) .Values.existingFilesSecret -}}
{{- end -}}

{{/* The config file: .Values.config with server.listen (and metrics_listen) set by the chart. */}}
{{- define "broker.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $server := default dict $cfg.server -}}
{{- $_ := set $server "listen" (printf ":%d" (int .Values.containerPort)) -}}
{{- if .Values.metrics.enabled -}}
{{- $_ := set $server "metrics_listen" (printf ":%d" (int .Values.metrics.port)) -}}
{{- end -}}
{{- $_ := set $cfg "server" $server -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Refuse values that cannot work, with a message that says what to change. */}}
{{- define "broker.validate" -}}
{{- if not .Values.existingConfigMap -}}
{{- if not .Values.config.server.external_url -}}
{{- fail "config.server.external_url is required (the broker's public URL, e.g. https://aws.example.com)" -}}
{{- end -}}
{{- $driver := default "sqlite" .Values.config.store.driver -}}
{{- if and (gt (int .Values.replicaCount) 1) (ne $driver "postgres") -}}
{{- fail (printf "replicaCount %d needs config.store.driver postgres (SQLite is one instance's file)" (int .Values.replicaCount)) -}}
{{- end -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.secrets.sessionKey -}}
{{- fail "secrets.sessionKey is required (openssl rand -base64 32), or name a Secret of yours in secrets.existingSecret" -}}
{{- end -}}
{{- if not .Values.secrets.storeKey -}}
{{- fail "secrets.storeKey is required (openssl rand -base64 32), or name a Secret of yours in secrets.existingSecret" -}}
{{- end -}}
{{- if and (eq (default "" .Values.config.store.dsn) "env:DATABASE_URL") (not .Values.secrets.databaseURL) -}}
{{- fail "secrets.databaseURL is required: config.store.dsn is env:DATABASE_URL (the PostgreSQL DSN)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

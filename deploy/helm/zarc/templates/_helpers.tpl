{{/*
Shared helpers. Component helpers take a dict: (dict "ctx" $ "component" "converter").
*/}}

{{- define "zarc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zarc.fullname" -}}
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

{{- define "zarc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "zarc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: zarc
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Name of a component's objects: <fullname>-<component>. */}}
{{- define "zarc.componentName" -}}
{{- printf "%s-%s" (include "zarc.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zarc.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "zarc.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "zarc.componentLabels" -}}
{{ include "zarc.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "zarc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zarc.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "zarc.image" -}}
{{- $c := index .ctx.Values .component }}
{{- $repo := default .ctx.Values.image.repository $c.image.repository }}
{{- $tag := default (default .ctx.Chart.AppVersion .ctx.Values.image.tag) $c.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}

{{/* Kafka bootstrap servers: the configured list, or the Strimzi bootstrap Service of kafkaTopics.clusterName. */}}
{{- define "zarc.kafkaBrokers" -}}
{{- default (printf "%s-kafka-bootstrap:9092" .Values.kafkaTopics.clusterName) .Values.config.kafka.brokers }}
{{- end }}

{{/* The consumer stage's input topic and consumer group (the fetcher consumes nothing). */}}
{{- define "zarc.inputTopic" -}}
{{- get (dict "converter" "zarc.meetings" "mapper" "zarc.messages" "importer" "zarc.deliveries") . }}
{{- end }}

{{/* ZARC_ environment name of a dotted option key, as the services derive it. */}}
{{- define "zarc.envName" -}}
{{- printf "ZARC_%s" (. | upper | replace "." "_" | replace "-" "_") }}
{{- end }}

{{/*
Which Secrets a component reads. Each is mounted at /var/run/secrets/zarc/<which>/ and passed as
ZARC_<KEY>_FILE: secrets never appear in the environment or the pod spec.
*/}}
{{- define "zarc.componentSecrets" -}}
{{- $s := dict "fetcher" (list "zoom" "azure") "converter" (list "azure") "mapper" (list "graph") "importer" (list "azure" "graph") }}
{{- toJson (get $s .) }}
{{- end }}

{{- define "zarc.secretEnv" -}}
{{- $v := .ctx.Values }}
{{- $base := "/var/run/secrets/zarc" }}
{{- range $which := (include "zarc.componentSecrets" .component | fromJsonArray) }}
{{- if eq $which "zoom" }}
- name: ZARC_ZOOM_CLIENT_SECRET_FILE
  value: {{ printf "%s/zoom/%s" $base $v.secrets.zoom.clientSecretKey }}
{{- if $v.fetcher.webhook.enabled }}
- name: ZARC_FETCHER_WEBHOOK_SECRET_FILE
  value: {{ printf "%s/zoom/%s" $base $v.secrets.zoom.webhookSecretKey }}
{{- end }}
{{- else if eq $which "graph" }}
{{- if $v.secrets.graph.certificateKey }}
- name: ZARC_GRAPH_CLIENT_CERTIFICATE_FILE
  value: {{ printf "%s/graph/%s" $base $v.secrets.graph.certificateKey }}
{{- else }}
- name: ZARC_GRAPH_CLIENT_SECRET_FILE
  value: {{ printf "%s/graph/%s" $base $v.secrets.graph.clientSecretKey }}
{{- end }}
{{- else if and (eq $which "azure") $v.config.blob.azureIdentity.mode }}
{{- range $store := list "staging" "messages" "archive" }}
- name: {{ printf "ZARC_%s_AZURE_IDENTITY" (upper $store) }}
  value: {{ $v.config.blob.azureIdentity.mode | quote }}
{{- end }}
{{- if and (eq $v.config.blob.azureIdentity.mode "managed-identity") $v.config.blob.azureIdentity.clientId }}
- name: AZURE_CLIENT_ID
  value: {{ $v.config.blob.azureIdentity.clientId | quote }}
{{- end }}
{{- else if eq $which "azure" }}
{{- range $store := list "staging" "messages" "archive" }}
{{- if $v.secrets.azure.sasKey }}
- name: {{ printf "ZARC_%s_AZURE_SAS_FILE" (upper $store) }}
  value: {{ printf "%s/azure/%s" $base $v.secrets.azure.sasKey }}
{{- else }}
- name: {{ printf "ZARC_%s_AZURE_KEY_FILE" (upper $store) }}
  value: {{ printf "%s/azure/%s" $base $v.secrets.azure.accountKeyKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if $v.secrets.kafka.name }}
- name: ZARC_KAFKA_SASL_PASSWORD_FILE
  value: {{ printf "%s/kafka/%s" $base $v.secrets.kafka.passwordKey }}
{{- end }}
{{- if $v.secrets.kafkaCa.name }}
- name: ZARC_KAFKA_SSL_CA_FILE
  value: {{ printf "%s/kafka-ca/%s" $base $v.secrets.kafkaCa.key }}
{{- end }}
{{- end }}

{{- define "zarc.secretVolumes" -}}
{{- $v := .ctx.Values }}
{{- range $which := (include "zarc.componentSecrets" .component | fromJsonArray) }}
{{- if not (and (eq $which "azure") $v.config.blob.azureIdentity.mode) }}
- name: {{ printf "secret-%s" $which }}
  secret:
    secretName: {{ (index $v.secrets $which).name }}
{{- end }}
{{- end }}
{{- if $v.secrets.kafka.name }}
- name: secret-kafka
  secret:
    secretName: {{ $v.secrets.kafka.name }}
{{- end }}
{{- if $v.secrets.kafkaCa.name }}
- name: secret-kafka-ca
  secret:
    secretName: {{ $v.secrets.kafkaCa.name }}
{{- end }}
{{- if and (eq .component "fetcher") $v.fetcher.webhook.enabled $v.fetcher.webhook.tlsSecretName }}
- name: webhook-tls
  secret:
    secretName: {{ $v.fetcher.webhook.tlsSecretName }}
{{- end }}
{{- end }}

{{- define "zarc.secretMounts" -}}
{{- $v := .ctx.Values }}
{{- range $which := (include "zarc.componentSecrets" .component | fromJsonArray) }}
{{- if not (and (eq $which "azure") $v.config.blob.azureIdentity.mode) }}
- name: {{ printf "secret-%s" $which }}
  mountPath: {{ printf "/var/run/secrets/zarc/%s" $which }}
  readOnly: true
{{- end }}
{{- end }}
{{- if $v.secrets.kafka.name }}
- name: secret-kafka
  mountPath: /var/run/secrets/zarc/kafka
  readOnly: true
{{- end }}
{{- if $v.secrets.kafkaCa.name }}
- name: secret-kafka-ca
  mountPath: /var/run/secrets/zarc/kafka-ca
  readOnly: true
{{- end }}
{{- if and (eq .component "fetcher") $v.fetcher.webhook.enabled $v.fetcher.webhook.tlsSecretName }}
- name: webhook-tls
  mountPath: /var/run/secrets/zarc/webhook-tls
  readOnly: true
{{- end }}
{{- end }}

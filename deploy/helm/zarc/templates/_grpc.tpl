{{/*
The gRPC control plane's TLS, mTLS and bearer token (values `grpc`), and the importer's console
(values `console`). Call the component helpers with (dict "ctx" $ "component" "<name>").
*/}}

{{- define "zarc.grpcTls" -}}
{{- if .Values.grpc.auth.tokenSecretName }}{{- if not .Values.grpc.tls.secretName }}
{{- fail "grpc.auth.tokenSecretName needs grpc.tls.secretName: a bearer token in plaintext can be read by anyone on the pod network" }}
{{- end }}{{- end }}
{{- if .Values.grpc.tls.secretName }}true{{- end }}
{{- end }}

{{- /* The port the kubelet's gRPC probes ask: the plaintext health-only port when TLS is on. */}}
{{- define "zarc.probePort" -}}
{{- $c := index .ctx.Values .component }}
{{- if include "zarc.grpcTls" .ctx }}{{ .ctx.Values.grpc.healthPort }}{{ else }}{{ $c.service.grpcPort }}{{ end }}
{{- end }}

{{- /* Client side: what zarc health (helm test) and a stage calling another need. */}}
{{- define "zarc.grpcClientEnv" -}}
{{- $g := .Values.grpc }}
{{- if include "zarc.grpcTls" . }}
- name: ZARC_GRPC_TLS_CA_FILE
  value: /var/run/secrets/zarc/grpc-tls/ca.crt
{{- if $g.tls.mtls }}
- name: ZARC_GRPC_TLS_CERT_FILE
  value: /var/run/secrets/zarc/grpc-tls/tls.crt
- name: ZARC_GRPC_TLS_KEY_FILE
  value: /var/run/secrets/zarc/grpc-tls/tls.key
{{- end }}
{{- with $g.tls.serverName }}
- name: ZARC_GRPC_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if $g.auth.tokenSecretName }}
- name: ZARC_GRPC_AUTH_TOKEN_FILE
  value: {{ printf "/var/run/secrets/zarc/grpc-token/%s" $g.auth.tokenKey }}
{{- end }}
{{- end }}

{{- /* Server side (a stage): its certificate, the client CA for mTLS, the health-only port. */}}
{{- define "zarc.grpcServerEnv" -}}
{{- $g := .Values.grpc }}
{{- if include "zarc.grpcTls" . }}
- name: ZARC_GRPC_TLS_CERT_FILE
  value: /var/run/secrets/zarc/grpc-tls/tls.crt
- name: ZARC_GRPC_TLS_KEY_FILE
  value: /var/run/secrets/zarc/grpc-tls/tls.key
- name: ZARC_GRPC_TLS_CA_FILE
  value: /var/run/secrets/zarc/grpc-tls/ca.crt
{{- if $g.tls.mtls }}
- name: ZARC_GRPC_TLS_CLIENT_CA_FILE
  value: /var/run/secrets/zarc/grpc-tls/ca.crt
{{- end }}
{{- with $g.tls.serverName }}
- name: ZARC_GRPC_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ZARC_GRPC_HEALTH_PORT
  value: {{ $g.healthPort | quote }}
- name: ZARC_GRPC_HEALTH_ADDRESS
  value: $(POD_IP)
{{- end }}
{{- if $g.auth.tokenSecretName }}
- name: ZARC_GRPC_AUTH_TOKEN_FILE
  value: {{ printf "/var/run/secrets/zarc/grpc-token/%s" $g.auth.tokenKey }}
{{- end }}
{{- end }}

{{- define "zarc.grpcVolumes" -}}
{{- if include "zarc.grpcTls" . }}
- name: grpc-tls
  secret:
    secretName: {{ .Values.grpc.tls.secretName }}
{{- end }}
{{- if .Values.grpc.auth.tokenSecretName }}
- name: grpc-token
  secret:
    secretName: {{ .Values.grpc.auth.tokenSecretName }}
{{- end }}
{{- end }}

{{- define "zarc.grpcMounts" -}}
{{- if include "zarc.grpcTls" . }}
- name: grpc-tls
  mountPath: /var/run/secrets/zarc/grpc-tls
  readOnly: true
{{- end }}
{{- if .Values.grpc.auth.tokenSecretName }}
- name: grpc-token
  mountPath: /var/run/secrets/zarc/grpc-token
  readOnly: true
{{- end }}
{{- end }}

{{- /* The importer's console: its options, and the mapper and fetcher its forms reach. */}}
{{- define "zarc.consoleEnv" -}}
{{- $v := .ctx.Values }}
{{- $k := $v.console }}
{{- if and (eq .component "importer") $k.enabled }}
{{- if and (eq $k.auth "proxy") (not $k.proxyAddresses) }}
{{- fail "console.auth proxy needs console.proxyAddresses: the reverse proxy's IP addresses, the only peers whose user header is believed" }}
{{- end }}
{{- if and (ne $k.auth "proxy") (not $k.viewerKey) (not $k.adminKey) }}
{{- fail (printf "console.auth %s needs console.viewerKey or console.adminKey (keys of console.secretName)" $k.auth) }}
{{- end }}
- name: ZARC_CONSOLE_ENABLED
  value: "true"
- name: ZARC_CONSOLE_LISTEN_ADDRESS
  value: 0.0.0.0
- name: ZARC_CONSOLE_PORT
  value: {{ $k.port | quote }}
- name: ZARC_CONSOLE_AUTH
  value: {{ $k.auth | quote }}
{{- if eq $k.auth "proxy" }}
- name: ZARC_CONSOLE_PROXY_ADDRESSES
  value: {{ join "," $k.proxyAddresses | quote }}
- name: ZARC_CONSOLE_PROXY_USER_HEADER
  value: {{ $k.proxyUserHeader | quote }}
- name: ZARC_CONSOLE_PROXY_GROUPS_HEADER
  value: {{ $k.proxyGroupsHeader | quote }}
- name: ZARC_CONSOLE_ADMIN_GROUP
  value: {{ $k.adminGroup | quote }}
{{- else }}
{{- with $k.viewerKey }}
- name: ZARC_CONSOLE_VIEWER_SECRET_FILE
  value: {{ printf "/var/run/secrets/zarc/console/%s" . }}
{{- end }}
{{- with $k.adminKey }}
- name: ZARC_CONSOLE_ADMIN_SECRET_FILE
  value: {{ printf "/var/run/secrets/zarc/console/%s" . }}
{{- end }}
{{- end }}
- name: ZARC_CONSOLE_MAPPER_ADDRESS
  value: {{ printf "%s:%v" (include "zarc.componentName" (dict "ctx" .ctx "component" "mapper")) $v.mapper.service.grpcPort | quote }}
- name: ZARC_CONSOLE_FETCHER_ADDRESS
  value: {{ printf "%s:%v" (include "zarc.componentName" (dict "ctx" .ctx "component" "fetcher")) $v.fetcher.service.grpcPort | quote }}
{{- end }}
{{- end }}

{{- define "zarc.consoleVolumes" -}}
{{- $k := .ctx.Values.console }}
{{- if and (eq .component "importer") $k.enabled (ne $k.auth "proxy") }}
- name: secret-console
  secret:
    secretName: {{ $k.secretName }}
{{- end }}
{{- end }}

{{- define "zarc.consoleMounts" -}}
{{- $k := .ctx.Values.console }}
{{- if and (eq .component "importer") $k.enabled (ne $k.auth "proxy") }}
- name: secret-console
  mountPath: /var/run/secrets/zarc/console
  readOnly: true
{{- end }}
{{- end }}

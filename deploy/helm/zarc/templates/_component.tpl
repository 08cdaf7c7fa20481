{{/*
The objects every component has, parameterised by component name (tempo-distributed keeps one
folder per component; the per-component files under templates/<component>/ include these).
Call with (dict "ctx" $ "component" "<name>").
*/}}

{{- define "zarc.deployment" -}}
{{- $v := .ctx.Values }}
{{- $c := index $v .component }}
{{- $scaled := or (and $c.autoscaling $c.autoscaling.enabled) (and $c.keda $c.keda.enabled) }}
{{- if and $c.autoscaling $c.keda }}{{- if and $c.autoscaling.enabled $c.keda.enabled }}
{{- fail (printf "%s: enable either autoscaling (CPU HPA) or keda (lag), not both: both would scale the same Deployment" .component) }}
{{- end }}{{- end }}
{{- if and (eq .component "fetcher") (gt (int $c.replicas) 1) }}
{{- fail (printf "fetcher.replicas is %d: the fetcher must run as one replica per Zoom account (no leader election yet), or every meeting is fetched twice" (int $c.replicas)) }}
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "zarc.componentName" . }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "zarc.componentLabels" . | nindent 4 }}
spec:
  {{- if not $scaled }}
  replicas: {{ $c.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- if eq .component "fetcher" }}
  strategy:
    # One fetcher at a time: the old pod drains before the new one starts polling.
    type: Recreate
  {{- else }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  {{- end }}
  selector:
    matchLabels:
      {{- include "zarc.componentSelectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "zarc.componentSelectorLabels" . | nindent 8 }}
        {{- if eq $v.config.blob.azureIdentity.mode "workload-identity" }}
        azure.workload.identity/use: "true"
        {{- end }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include (print .ctx.Template.BasePath "/configmap.yaml") .ctx | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "zarc.serviceAccountName" .ctx }}
      automountServiceAccountToken: false
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
      {{- with $c.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "zarc.image" . }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          command: ["/usr/local/bin/zarc"]
          args:
            - {{ .component }}
            {{- range $c.extraArgs }}
            - {{ . | quote }}
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "zarc.fullname" .ctx }}-config
          env:
            - name: ZARC_GRPC_PORT
              value: {{ $c.service.grpcPort | quote }}
            - name: ZARC_METRICS_PORT
              value: {{ $c.service.metricsPort | quote }}
            {{- if eq .component "fetcher" }}
            {{- if $c.webhook.enabled }}
            - name: ZARC_FETCHER_WEBHOOK_PORT
              value: {{ $c.webhook.port | quote }}
            {{- if $c.webhook.tlsSecretName }}
            - name: ZARC_FETCHER_WEBHOOK_TLS_CERT
              value: /var/run/secrets/zarc/webhook-tls/tls.crt
            - name: ZARC_FETCHER_WEBHOOK_TLS_KEY
              value: /var/run/secrets/zarc/webhook-tls/tls.key
            {{- end }}
            {{- end }}
            {{- end }}
            {{- include "zarc.secretEnv" . | trim | nindent 12 }}
            {{- include "zarc.grpcServerEnv" .ctx | trim | nindent 12 }}
            {{- include "zarc.consoleEnv" . | trim | nindent 12 }}
            {{- with $c.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: grpc
              containerPort: {{ $c.service.grpcPort }}
              protocol: TCP
            - name: metrics
              containerPort: {{ $c.service.metricsPort }}
              protocol: TCP
            {{- if and (eq .component "fetcher") $c.webhook.enabled }}
            - name: webhook
              containerPort: {{ $c.webhook.port }}
              protocol: TCP
            {{- end }}
            {{- if include "zarc.grpcTls" .ctx }}
            - name: health
              containerPort: {{ $v.grpc.healthPort }}
              protocol: TCP
            {{- end }}
            {{- if and (eq .component "importer") $v.console.enabled }}
            - name: console
              containerPort: {{ $v.console.port }}
              protocol: TCP
            {{- end }}
          # grpc.health.v1.Health: SERVING once the stage runs; NOT_SERVING while it drains, and for
          # good once its stage runner stopped on a fatal error (the liveness probe restarts it).
          # With gRPC TLS on, the probes ask the plaintext health-only port on the pod IP.
          startupProbe:
            grpc:
              port: {{ include "zarc.probePort" . }}
            periodSeconds: 2
            failureThreshold: 60
          readinessProbe:
            grpc:
              port: {{ include "zarc.probePort" . }}
            periodSeconds: 10
            failureThreshold: 3
          livenessProbe:
            grpc:
              port: {{ include "zarc.probePort" . }}
            periodSeconds: 20
            timeoutSeconds: 5
            failureThreshold: 6
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- include "zarc.secretMounts" . | trim | nindent 12 }}
            {{- include "zarc.grpcMounts" .ctx | trim | nindent 12 }}
            {{- include "zarc.consoleMounts" . | trim | nindent 12 }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 1Gi
        {{- include "zarc.secretVolumes" . | trim | nindent 8 }}
        {{- include "zarc.grpcVolumes" .ctx | trim | nindent 8 }}
        {{- include "zarc.consoleVolumes" . | trim | nindent 8 }}
      {{- with $c.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{- define "zarc.service" -}}
{{- $c := index .ctx.Values .component }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "zarc.componentName" . }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "zarc.componentLabels" . | nindent 4 }}
  {{- with $c.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include "zarc.componentSelectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $c.service.grpcPort }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    - name: metrics
      port: {{ $c.service.metricsPort }}
      targetPort: metrics
      protocol: TCP
    {{- if and (eq .component "fetcher") $c.webhook.enabled }}
    - name: webhook
      port: {{ $c.webhook.port }}
      targetPort: webhook
      protocol: TCP
    {{- end }}
    {{- if and (eq .component "importer") .ctx.Values.console.enabled }}
    - name: console
      port: {{ .ctx.Values.console.port }}
      targetPort: console
      protocol: TCP
      appProtocol: http
    {{- end }}
{{- end }}

{{- define "zarc.pdb" -}}
{{- $c := index .ctx.Values .component }}
{{- if $c.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "zarc.componentName" . }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "zarc.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $c.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "zarc.componentSelectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{- define "zarc.hpa" -}}
{{- $c := index .ctx.Values .component }}
{{- if $c.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "zarc.componentName" . }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "zarc.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "zarc.componentName" . }}
  minReplicas: {{ $c.autoscaling.minReplicas }}
  maxReplicas: {{ $c.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $c.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end }}

{{- define "zarc.scaledObject" -}}
{{- $c := index .ctx.Values .component }}
{{- if $c.keda.enabled }}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ include "zarc.componentName" . }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "zarc.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    name: {{ include "zarc.componentName" . }}
  pollingInterval: {{ $c.keda.pollingInterval }}
  cooldownPeriod: {{ $c.keda.cooldownPeriod }}
  minReplicaCount: {{ $c.keda.minReplicaCount }}
  maxReplicaCount: {{ $c.keda.maxReplicaCount }}
  triggers:
    # Lag of the stage's consumer group on its input topic: the signal that matters for a pipeline.
    - type: kafka
      metadata:
        bootstrapServers: {{ include "zarc.kafkaBrokers" .ctx | quote }}
        consumerGroup: {{ printf "zarc-%s" .component | quote }}
        topic: {{ include "zarc.inputTopic" .component | quote }}
        lagThreshold: {{ $c.keda.lagThreshold | quote }}
        offsetResetPolicy: earliest
      {{- with $c.keda.authenticationRef }}
      authenticationRef:
        name: {{ . }}
      {{- end }}
{{- end }}
{{- end }}

{{- define "zarc.serviceMonitor" -}}
{{- $c := index .ctx.Values .component }}
{{- if $c.serviceMonitor.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "zarc.componentName" . }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "zarc.componentLabels" . | nindent 4 }}
    {{- with $c.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "zarc.componentSelectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .ctx.Release.Namespace }}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ $c.serviceMonitor.interval }}
{{- end }}
{{- end }}

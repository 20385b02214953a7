{{- define "icdiff.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "icdiff.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
Environment of every silo: pod identity for Kubernetes hosting, Redis, the web host and its key, the data directory,
the history store (every silo's dashboard reads it), blob storage, telemetry. Settings that only one role reads are
in icdiff.coordinatorEnv and in the worker Deployment, so that each pod gets only what it reads (the cluster id comes
from ORLEANS_CLUSTER_ID under Kubernetes hosting, so Icdiff__Cluster__ClusterId is not set).
*/}}
{{- define "icdiff.siloEnv" -}}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: POD_IP
  valueFrom: { fieldRef: { fieldPath: status.podIP } }
- name: ORLEANS_SERVICE_ID
  value: {{ .Values.serviceId | quote }}
- name: ORLEANS_CLUSTER_ID
  value: {{ .Values.clusterId | quote }}
- name: Icdiff__Cluster__Kubernetes
  value: "true"
- name: Icdiff__Cluster__ServiceId
  value: {{ .Values.serviceId | quote }}
- name: Icdiff__Cluster__SiloPort
  value: {{ .Values.ports.silo | quote }}
- name: Icdiff__Cluster__GatewayPort
  value: {{ .Values.ports.gateway | quote }}
- name: Icdiff__Cluster__HttpPort
  value: {{ .Values.ports.http | quote }}
- name: Icdiff__Cluster__HttpAddress
  value: "0.0.0.0"
- name: Icdiff__Cluster__Redis
  valueFrom: { secretKeyRef: { name: {{ .Values.redis.existingSecret | quote }}, key: {{ .Values.redis.secretKey | quote }} } }
- name: Icdiff__Silo__DataDirectory
  value: {{ .Values.data.mountPath | quote }}
- name: Icdiff__Index__Kind
  value: {{ .Values.index.kind | quote }}
- name: Icdiff__Index__Partitions
  value: {{ .Values.index.partitions | quote }}
- name: Icdiff__Index__TokenCacheMegabytes
  value: {{ .Values.index.tokenCacheMegabytes | quote }}
{{- if eq .Values.index.kind "milvus" }}
- name: Icdiff__Milvus__Uri
  value: {{ required "milvus.uri is required with index.kind milvus" .Values.milvus.uri | quote }}
- name: Icdiff__Milvus__Collection
  value: {{ .Values.milvus.collection | quote }}
- name: Icdiff__Milvus__IndexType
  value: {{ .Values.milvus.indexType | quote }}
{{- if .Values.milvus.existingSecret }}
- name: Icdiff__Milvus__Token
  valueFrom: { secretKeyRef: { name: {{ .Values.milvus.existingSecret | quote }}, key: {{ .Values.milvus.secretKey | quote }} } }
{{- end }}
{{- end }}
{{- if .Values.history.existingSecret }}
- name: Icdiff__History__Postgres
  valueFrom: { secretKeyRef: { name: {{ .Values.history.existingSecret | quote }}, key: {{ .Values.history.secretKey | quote }} } }
{{- end }}
- name: Icdiff__Dashboard__ApiKey
  valueFrom: { secretKeyRef: { name: {{ .Values.dashboard.apiKeySecret | quote }}, key: apiKey } }
{{- if .Values.blob.existingSecret }}
- name: Icdiff__Blob__ConnectionString
  valueFrom: { secretKeyRef: { name: {{ .Values.blob.existingSecret | quote }}, key: {{ .Values.blob.secretKey | quote }} } }
{{- end }}
{{- if .Values.blob.serviceUriTemplate }}
- name: Icdiff__Blob__ServiceUriTemplate
  value: {{ .Values.blob.serviceUriTemplate | quote }}
{{- end }}
{{- if .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otlpEndpoint | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Environment only coordinators read: the schedules their reminders run, and the alerts of the runs they drive. */}}
{{- define "icdiff.coordinatorEnv" -}}
- name: Icdiff__Silo__Roles
  value: "coordinator"
{{- if .Values.history.ratioLimit }}
- name: Icdiff__History__RatioLimit
  value: {{ .Values.history.ratioLimit | quote }}
{{- end }}
{{- range $model, $limit := .Values.history.modelLimits }}
- name: Icdiff__History__ModelLimits__{{ $model }}
  value: {{ $limit | quote }}
{{- end }}
{{- if .Values.history.webhookSecret }}
- name: Icdiff__History__WebhookUrl
  valueFrom: { secretKeyRef: { name: {{ .Values.history.webhookSecret | quote }}, key: url } }
{{- end }}
{{- range $name, $s := .Values.schedules }}
- name: Icdiff__Scheduling__Schedules__{{ $name }}__Cron
  value: {{ $s.cron | default "" | quote }}
- name: Icdiff__Scheduling__Schedules__{{ $name }}__TimeZone
  value: {{ $s.timeZone | default "UTC" | quote }}
- name: Icdiff__Scheduling__Schedules__{{ $name }}__Gallery
  value: {{ $s.gallery | quote }}
{{- range $model, $location := $s.models }}
- name: Icdiff__Scheduling__Schedules__{{ $name }}__Models__{{ $model }}
  value: {{ $location | quote }}
{{- end }}
{{- if $s.modelManifest }}
- name: Icdiff__Scheduling__Schedules__{{ $name }}__ModelManifest
  value: {{ $s.modelManifest | quote }}
{{- end }}
{{- if $s.minLevel }}
- name: Icdiff__Scheduling__Schedules__{{ $name }}__MinLevel
  value: {{ $s.minLevel | quote }}
{{- end }}
{{- if $s.candidates }}
- name: Icdiff__Scheduling__Schedules__{{ $name }}__Candidates
  value: {{ $s.candidates | quote }}
{{- end }}
{{- if $s.shardSize }}
- name: Icdiff__Scheduling__Schedules__{{ $name }}__ShardSize
  value: {{ $s.shardSize | quote }}
{{- end }}
{{- end }}
{{- with .Values.coordinator.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Environment only workers read: their share of the work, checkpoints, the GPU provider. */}}
{{- define "icdiff.workerEnv" -}}
- name: Icdiff__Silo__Roles
  value: "worker"
- name: Icdiff__Silo__MaxShardsInFlight
  value: {{ .Values.worker.maxShardsInFlight | quote }}
- name: Icdiff__Silo__CheckpointItems
  value: {{ .Values.worker.checkpointItems | quote }}
{{- if .Values.worker.gpu.enabled }}
- name: Icdiff__Onnx__ExecutionProvider
  value: "cuda"
{{- end }}
{{- with .Values.worker.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Pod annotations: Prometheus' scrape annotations follow ports.http (the silo serves /metrics on its web host), then
podAnnotations. A prometheus.io key in podAnnotations would repeat a key of the same map, so it is refused.
*/}}
{{- define "icdiff.podAnnotations" -}}
{{- if .Values.metrics.scrapeAnnotations }}
{{- range $key := list "prometheus.io/scrape" "prometheus.io/port" "prometheus.io/path" }}
{{- if hasKey $.Values.podAnnotations $key }}
{{- fail (printf "podAnnotations.%s: the chart sets it from ports.http and metrics.scrapeAnnotations; remove it, or set metrics.scrapeAnnotations=false" $key) }}
{{- end }}
{{- end }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.ports.http | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "icdiff.siloPorts" -}}
- { name: silo, containerPort: {{ .Values.ports.silo }} }
- { name: gateway, containerPort: {{ .Values.ports.gateway }} }
- { name: http, containerPort: {{ .Values.ports.http }} }
{{- end -}}

{{- define "icdiff.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 5
  failureThreshold: 60
readinessProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 10
livenessProbe:
  tcpSocket: { port: silo }
  periodSeconds: 20
  failureThreshold: 6
{{- end -}}

{{- define "icdiff.volumeMounts" -}}
- { name: data, mountPath: {{ .Values.data.mountPath | quote }} }
{{- if .Values.models.existingClaim }}
- { name: models, mountPath: {{ .Values.models.mountPath | quote }}, readOnly: true }
{{- end }}
{{- end -}}

{{- define "icdiff.volumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ .Values.data.existingClaim | default (printf "%s-data" (include "icdiff.fullname" .)) }}
{{- if .Values.models.existingClaim }}
- name: models
  persistentVolumeClaim:
    claimName: {{ .Values.models.existingClaim }}
    readOnly: true
{{- end }}
{{- end -}}

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

{{/* Environment shared by both silo roles: pod identity for Kubernetes hosting, Redis, storage, Milvus, telemetry. */}}
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
- name: Icdiff__Cluster__ClusterId
  value: {{ .Values.clusterId | quote }}
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
{{- if .Values.history.existingSecret }}
- name: Icdiff__History__Postgres
  valueFrom: { secretKeyRef: { name: {{ .Values.history.existingSecret | quote }}, key: {{ .Values.history.secretKey | quote }} } }
{{- end }}
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
- name: Icdiff__Dashboard__ApiKey
  valueFrom: { secretKeyRef: { name: {{ .Values.dashboard.apiKeySecret | quote }}, key: apiKey } }
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
{{- end }}
{{- if .Values.blob.existingSecret }}
- name: Icdiff__Blob__ConnectionString
  valueFrom: { secretKeyRef: { name: {{ .Values.blob.existingSecret | quote }}, key: {{ .Values.blob.secretKey | quote }} } }
{{- end }}
{{- if .Values.blob.serviceUriTemplate }}
- name: Icdiff__Blob__ServiceUriTemplate
  value: {{ .Values.blob.serviceUriTemplate | quote }}
{{- end }}
{{- if .Values.milvus.uri }}
- name: Icdiff__Milvus__Uri
  value: {{ .Values.milvus.uri | quote }}
- name: Icdiff__Milvus__Collection
  value: {{ .Values.milvus.collection | quote }}
{{- end }}
{{- if .Values.milvus.existingSecret }}
- name: Icdiff__Milvus__Token
  valueFrom: { secretKeyRef: { name: {{ .Values.milvus.existingSecret | quote }}, key: {{ .Values.milvus.secretKey | quote }} } }
{{- end }}
{{- if .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otlpEndpoint | quote }}
{{- end }}
{{- with .Values.extraEnv }}
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

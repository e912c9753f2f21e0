{{/* Names, labels and checks shared by the templates. */}}

{{- define "nginx-ingress.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release name if it already contains the chart name, as in NIC's chart. */}}
{{- define "nginx-ingress.fullname" -}}
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

{{/* The workload and its Service. */}}
{{- define "nginx-ingress.controller.fullname" -}}
{{- printf "%s-%s" (include "nginx-ingress.fullname" .) .Values.controller.name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nginx-ingress.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nginx-ingress.selectorLabels" -}}
{{- if .Values.controller.selectorLabels }}
{{- toYaml .Values.controller.selectorLabels }}
{{- else -}}
app.kubernetes.io/name: {{ include "nginx-ingress.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
{{- end }}

{{- define "nginx-ingress.labels" -}}
helm.sh/chart: {{ include "nginx-ingress.chart" . }}
{{ include "nginx-ingress.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "nginx-ingress.podLabels" -}}
{{ include "nginx-ingress.selectorLabels" . }}
{{- with .Values.controller.pod.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "nginx-ingress.configName" -}}
{{- if .Values.controller.customConfigMap }}
{{- .Values.controller.customConfigMap }}
{{- else }}
{{- default (include "nginx-ingress.fullname" .) .Values.controller.config.name }}
{{- end }}
{{- end }}

{{- define "nginx-ingress.serviceAccountName" -}}
{{- default (include "nginx-ingress.fullname" .) .Values.controller.serviceAccount.name }}
{{- end }}

{{/* Leader election runs only where status is reported: it decides who writes it. */}}
{{- define "nginx-ingress.leaderElection" -}}
{{- if and .Values.controller.reportIngressStatus.enable .Values.controller.reportIngressStatus.enableLeaderElection }}true{{ end }}
{{- end }}

{{- define "nginx-ingress.leaderElectionName" -}}
{{- default (printf "%s-leader-election" (include "nginx-ingress.fullname" .)) .Values.controller.reportIngressStatus.leaderElectionLockName }}
{{- end }}

{{/*
The Service whose address goes into Ingress status (`-external-service`, a name in the
release namespace): the value, else the chart's Service when it is a LoadBalancer; empty
otherwise, and the controller reports the nodes of its pods.
*/}}
{{- define "nginx-ingress.externalService" -}}
{{- if .Values.controller.reportIngressStatus.externalService }}
{{- .Values.controller.reportIngressStatus.externalService }}
{{- else if and .Values.controller.service.create (eq .Values.controller.service.type "LoadBalancer") }}
{{- include "nginx-ingress.controller.fullname" . }}
{{- end }}
{{- end }}

{{/*
The zone-sync headless Service, which the controller creates and owns. The controller refuses
to start with a name that is not a DNS-1035 label of at most 63 characters; fail here first,
with the values to change.
*/}}
{{- define "nginx-ingress.headlessServiceName" -}}
{{- $name := default (printf "%s-headless" (include "nginx-ingress.fullname" .)) .Values.controller.zoneSync.serviceName }}
{{- if gt (len $name) 63 }}
{{- fail (printf "the zone-sync headless Service name %q has %d characters, at most 63 are allowed: set controller.zoneSync.serviceName or a shorter fullnameOverride" $name (len $name)) }}
{{- end }}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) }}
{{- fail (printf "the zone-sync headless Service name %q is not a DNS-1035 label (lower-case letters, digits and '-', starting with a letter)" $name) }}
{{- end }}
{{- $name }}
{{- end }}

{{/*
The zone-sync TLS Secret: controller.zoneSync.tls.secretName, else the one the chart's
cert-manager Certificate writes, else none (zone sync in clear text). Only with zone sync on.
*/}}
{{- define "nginx-ingress.zoneSyncTLSSecretName" -}}
{{- $zs := .Values.controller.zoneSync }}
{{- if $zs.enable }}
{{- if $zs.tls.secretName }}
{{- $zs.tls.secretName }}
{{- else if $zs.tls.certManager.enabled }}
{{- printf "%s-zone-sync-tls" (include "nginx-ingress.fullname" .) | trunc 253 }}
{{- end }}
{{- end }}
{{- end }}

{{/* The headless Service's name in DNS: the name zone-sync peers check in certificates. */}}
{{- define "nginx-ingress.headlessServiceFQDN" -}}
{{- printf "%s.%s.svc.%s" (include "nginx-ingress.headlessServiceName" .) .Release.Namespace .Values.controller.clusterDomain }}
{{- end }}

{{- define "nginx-ingress.image" -}}
{{- $image := .Values.controller.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/*
The dynamic modules NGINX loads: Debian's NGINX (the project's image) builds the stream
module, which the zone-sync server and the stream block need, as a dynamic module; NGINX Plus
has it built in.
*/}}
{{- define "nginx-ingress.loadModules" -}}
{{- $modules := .Values.controller.loadModules }}
{{- if kindIs "invalid" $modules }}
{{- $modules = ternary (list) (list "/usr/lib/nginx/modules/ngx_stream_module.so") .Values.controller.nginxplus }}
{{- end }}
{{- toJson $modules }}
{{- end }}

{{/*
Seconds in an NGINX time ("90", "30s", "1m30s", "500ms"): the units NGINX reads in
worker_shutdown_timeout. Unknown text yields -1, so the caller can say what it did not read.
*/}}
{{- define "nginx-ingress.nginxSeconds" -}}
{{- $text := toString . | trim }}
{{- if regexMatch "^[0-9]+$" $text }}
{{- $text }}
{{- else if regexMatch "^([0-9]+(ms|s|m|h|d|w|M|y))+$" $text }}
{{- $units := dict "ms" 0.001 "s" 1 "m" 60 "h" 3600 "d" 86400 "w" 604800 "M" 2592000 "y" 31536000 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(ms|s|m|h|d|w|M|y)" $text -1 }}
{{- $unit := regexFind "(ms|s|m|h|d|w|M|y)$" . }}
{{- $total = addf $total (mulf (trimSuffix $unit . | float64) (get $units $unit)) }}
{{- end }}
{{- ceil $total | int }}
{{- else }}
{{- -1 }}
{{- end }}
{{- end }}

{{/*
Checks across values that the schema cannot express; included by the workload template, so
`helm install` fails before anything is created.
*/}}
{{- define "nginx-ingress.checks" -}}
{{- $c := .Values.controller }}
{{- if and $c.zoneSync.enable (not $c.nginxplus) }}
{{- fail "controller.zoneSync.enable needs NGINX Plus: set controller.nginxplus=true (and an NGINX Plus image)" }}
{{- end }}
{{- if and $c.zoneSync.enable (or (hasKey $c.config.entries "zone-sync") (hasKey $c.config.entries "zone-sync-port")) }}
{{- fail "set zone sync with controller.zoneSync.enable and controller.zoneSync.port, not with controller.config.entries zone-sync or zone-sync-port" }}
{{- end }}
{{- $tls := $c.zoneSync.tls }}
{{- if and (or $tls.secretName $tls.caSecretName $tls.certManager.enabled) (not $c.zoneSync.enable) }}
{{- fail "controller.zoneSync.tls needs zone sync: set controller.zoneSync.enable=true" }}
{{- end }}
{{- if and $tls.caSecretName (not (include "nginx-ingress.zoneSyncTLSSecretName" .)) }}
{{- fail "controller.zoneSync.tls.caSecretName needs a certificate: set controller.zoneSync.tls.secretName or controller.zoneSync.tls.certManager.enabled" }}
{{- end }}
{{- if and $tls.certManager.enabled (not $tls.certManager.issuerRef.name) }}
{{- fail "controller.zoneSync.tls.certManager.enabled needs controller.zoneSync.tls.certManager.issuerRef.name: the cert-manager Issuer (or ClusterIssuer, with issuerRef.kind) that signs the zone-sync certificates" }}
{{- end }}
{{- range $key := list "zone-sync-tls-secret" "zone-sync-tls-ca-secret" }}
{{- if hasKey $c.config.entries $key }}
{{- fail (printf "set the zone-sync TLS Secrets with controller.zoneSync.tls (secretName, caSecretName), not with controller.config.entries %s: the chart grants the controller access to those only" $key) }}
{{- end }}
{{- end }}
{{- if and $c.zoneSync.enable $c.customConfigMap }}
{{- fail "controller.zoneSync.enable writes the chart's ConfigMap; with controller.customConfigMap set zone-sync in your own ConfigMap instead" }}
{{- end }}
{{- with (get $c.config.entries "worker-shutdown-timeout") }}
{{- $seconds := include "nginx-ingress.nginxSeconds" . | int }}
{{- if lt $seconds 0 }}
{{- fail (printf "controller.config.entries.worker-shutdown-timeout: %q is not an NGINX time" .) }}
{{- end }}
{{- if lt (int $c.terminationGracePeriodSeconds) (add $seconds 5) }}
{{- fail (printf "controller.terminationGracePeriodSeconds (%v) must be at least worker-shutdown-timeout (%d s) + 5 s, or the kubelet kills NGINX while its workers still finish requests" $c.terminationGracePeriodSeconds $seconds) }}
{{- end }}
{{- end }}
{{- if and (eq $c.kind "daemonset") $c.autoscaling.enabled }}
{{- fail "controller.autoscaling.enabled does not apply to a daemonset" }}
{{- end }}
{{- if and $c.ingressClass.setAsDefaultIngress (not $c.ingressClass.create) }}
{{- fail "controller.ingressClass.setAsDefaultIngress requires controller.ingressClass.create" }}
{{- end }}
{{- end }}

{{/* Cluster-scoped objects carry the namespace, so one release name can be installed in
two namespaces. */}}
{{- define "nginx-ingress.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "nginx-ingress.fullname" .) }}
{{- end }}

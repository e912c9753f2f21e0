{{/*
The controller's arguments: the one place the chart turns values into `nginx-ingress run`
flags. tests/deploy/test_chart_flags.py fails if a rendered flag is one that
`nginx-ingress run --help` does not list.
*/}}
{{- define "nginx-ingress.args" -}}
{{- $c := .Values.controller -}}
- run
- -nginx-plus={{ $c.nginxplus }}
- -nginx-configmaps=$(POD_NAMESPACE)/{{ include "nginx-ingress.configName" . }}
- -ingress-class={{ $c.ingressClass.name }}
- -zone-sync-service-name={{ include "nginx-ingress.headlessServiceName" . }}
- -zone-sync-require-tls={{ $c.zoneSync.requireTLS }}
- -cluster-domain={{ $c.clusterDomain }}
{{- if not $c.nginxplus }}
{{- /* On NGINX OSS the controller reads neither its pod nor its workload: the pods it counts
for `nginx.org/limit-req-scale` are those this selector matches. */}}
{{- $pairs := list }}
{{- range $key, $value := include "nginx-ingress.selectorLabels" . | fromYaml }}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) }}
{{- end }}
- -zone-sync-service-selector={{ join "," $pairs }}
{{- end }}
- -nginx-reload-timeout={{ $c.nginxReloadTimeout }}
{{- range (include "nginx-ingress.loadModules" . | fromJsonArray) }}
- -load-module={{ . }}
{{- end }}
- -log-level={{ $c.logLevel }}
- -log-format={{ $c.logFormat }}
- -nginx-status={{ $c.nginxStatus.enable }}
- -nginx-status-port={{ $c.nginxStatus.port }}
- -nginx-status-allow-cidrs={{ $c.nginxStatus.allowCidrs }}
- -ready-status={{ $c.readyStatus.enable }}
- -ready-status-port={{ $c.readyStatus.port }}
- -enable-prometheus-metrics={{ .Values.prometheus.create }}
- -prometheus-metrics-listen-port={{ .Values.prometheus.port }}
- -disable-ipv6={{ $c.disableIPV6 }}
- -default-http-listener-port={{ $c.defaultHTTPListenerPort }}
- -default-https-listener-port={{ $c.defaultHTTPSListenerPort }}
{{- with $c.watchNamespace }}
- -watch-namespace={{ . }}
{{- end }}
{{- with $c.watchSecretNamespace }}
- -watch-secret-namespace={{ . }}
{{- end }}
{{- with $c.defaultTLS.secret }}
- -default-server-tls-secret={{ . }}
{{- end }}
- -health-status={{ $c.healthStatus }}
- -health-status-uri={{ $c.healthStatusURI }}
- -report-ingress-status={{ $c.reportIngressStatus.enable }}
{{- if $c.reportIngressStatus.enable }}
{{- with include "nginx-ingress.externalService" . }}
- -external-service={{ . }}
{{- end }}
{{- end }}
- -enable-leader-election={{ $c.reportIngressStatus.enableLeaderElection }}
{{- if and $c.reportIngressStatus.enable $c.reportIngressStatus.enableLeaderElection }}
- -leader-election-lock-name={{ include "nginx-ingress.leaderElectionName" . }}
{{- end }}
{{- /*
PENDING: flags the controller does not accept yet (none now). Their values, RBAC and objects
go in place first; move each line above this comment when `nginx-ingress run --help` lists
its flag (tests/deploy/test_chart_flags.py fails until then, and once it does).
*/ -}}
{{- end }}

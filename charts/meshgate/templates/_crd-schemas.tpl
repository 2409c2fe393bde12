{{- /* Structural schemas of the CRDs in crds.yaml. */ -}}
{{- define "meshgate.stringMatch" -}}
type: object
properties:
  exact: {type: string}
  prefix: {type: string}
  regex: {type: string}
{{- end -}}
{{- define "meshgate.destination" -}}
type: object
required: [host]
properties:
  host: {type: string}
  subset: {type: string}
  port:
    type: object
    properties:
      number: {type: integer, minimum: 0, maximum: 4294967295}
{{- end -}}
{{- define "meshgate.routeDestinations" -}}
type: array
items:
  type: object
  required: [destination]
  properties:
    destination: {{- include "meshgate.destination" . | nindent 6 }}
    weight: {type: integer, format: int32}
    headers: {type: object, x-kubernetes-preserve-unknown-fields: true}
{{- end -}}
{{- define "meshgate.serviceEntrySchema" -}}
type: object
properties:
  spec:
    type: object
    required: [hosts]
    properties:
      hosts: {type: array, items: {type: string}}
      addresses: {type: array, items: {type: string}}
      ports:
        type: array
        items:
          type: object
          required: [number, name]
          properties:
            number: {type: integer, minimum: 0, maximum: 4294967295}
            protocol: {type: string}
            name: {type: string}
            targetPort: {type: integer, minimum: 0, maximum: 4294967295}
      location: {type: string, enum: [MESH_EXTERNAL, MESH_INTERNAL]}
      resolution: {type: string, enum: [NONE, STATIC, DNS, DNS_ROUND_ROBIN, DYNAMIC_DNS]}
      endpoints:
        type: array
        items:
          type: object
          properties:
            address: {type: string}
            ports: {type: object, additionalProperties: {type: integer, minimum: 0, maximum: 4294967295}}
            labels: {type: object, additionalProperties: {type: string}}
            network: {type: string}
            locality: {type: string}
            weight: {type: integer, minimum: 0, maximum: 4294967295}
            serviceAccount: {type: string}
      workloadSelector:
        type: object
        properties:
          labels: {type: object, additionalProperties: {type: string}}
      exportTo: {type: array, items: {type: string}}
      subjectAltNames: {type: array, items: {type: string}}
  status: {type: object, x-kubernetes-preserve-unknown-fields: true}
{{- end -}}
{{- define "meshgate.virtualServiceSchema" -}}
type: object
properties:
  spec:
    type: object
    properties:
      hosts: {type: array, items: {type: string}}
      gateways: {type: array, items: {type: string}}
      exportTo: {type: array, items: {type: string}}
      http:
        type: array
        items:
          type: object
          properties:
            name: {type: string}
            match:
              type: array
              items:
                type: object
                properties:
                  name: {type: string}
                  uri: {{- include "meshgate.stringMatch" . | nindent 20 }}
                  scheme: {{- include "meshgate.stringMatch" . | nindent 20 }}
                  method: {{- include "meshgate.stringMatch" . | nindent 20 }}
                  authority: {{- include "meshgate.stringMatch" . | nindent 20 }}
                  headers:
                    type: object
                    additionalProperties: {{- include "meshgate.stringMatch" . | nindent 22 }}
                  queryParams:
                    type: object
                    additionalProperties: {{- include "meshgate.stringMatch" . | nindent 22 }}
                  withoutHeaders:
                    type: object
                    additionalProperties: {{- include "meshgate.stringMatch" . | nindent 22 }}
                  port: {type: integer, minimum: 0, maximum: 4294967295}
                  ignoreUriCase: {type: boolean}
                  sourceLabels: {type: object, additionalProperties: {type: string}}
                  gateways: {type: array, items: {type: string}}
                  sourceNamespace: {type: string}
                  statPrefix: {type: string}
            route: {{- include "meshgate.routeDestinations" . | nindent 14 }}
            redirect: {type: object, x-kubernetes-preserve-unknown-fields: true}
            directResponse: {type: object, x-kubernetes-preserve-unknown-fields: true}
            delegate:
              type: object
              properties:
                name: {type: string}
                namespace: {type: string}
            rewrite: {type: object, x-kubernetes-preserve-unknown-fields: true}
            timeout: {type: string}
            retries:
              type: object
              properties:
                attempts: {type: integer, format: int32}
                perTryTimeout: {type: string}
                retryOn: {type: string}
                retryRemoteLocalities: {type: boolean, nullable: true}
                retryIgnorePreviousHosts: {type: boolean, nullable: true}
                backoff: {type: string}
            fault: {type: object, x-kubernetes-preserve-unknown-fields: true}
            mirror: {{- include "meshgate.destination" . | nindent 14 }}
            mirrors: {type: array, items: {type: object, x-kubernetes-preserve-unknown-fields: true}}
            mirrorPercentage: {type: object, properties: {value: {type: number, format: double}}}
            mirrorPercent: {type: integer, nullable: true}
            corsPolicy: {type: object, x-kubernetes-preserve-unknown-fields: true}
            headers: {type: object, x-kubernetes-preserve-unknown-fields: true}
      tls:
        type: array
        items:
          type: object
          required: [match]
          properties:
            match:
              type: array
              items:
                type: object
                required: [sniHosts]
                properties:
                  sniHosts: {type: array, items: {type: string}}
                  destinationSubnets: {type: array, items: {type: string}}
                  port: {type: integer, minimum: 0, maximum: 4294967295}
                  sourceLabels: {type: object, additionalProperties: {type: string}}
                  gateways: {type: array, items: {type: string}}
                  sourceNamespace: {type: string}
            route: {{- include "meshgate.routeDestinations" . | nindent 14 }}
      tcp:
        type: array
        items:
          type: object
          properties:
            match:
              type: array
              items:
                type: object
                properties:
                  destinationSubnets: {type: array, items: {type: string}}
                  port: {type: integer, minimum: 0, maximum: 4294967295}
                  sourceLabels: {type: object, additionalProperties: {type: string}}
                  gateways: {type: array, items: {type: string}}
                  sourceNamespace: {type: string}
                  sourceSubnet: {type: string}
            route: {{- include "meshgate.routeDestinations" . | nindent 14 }}
  status: {type: object, x-kubernetes-preserve-unknown-fields: true}
{{- end -}}

variable "cluster_name" {
  description = "Name of the EKS cluster (srvthreds-<environment>)."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the node groups, e.g. \"1.31\"."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnet IDs (at least two AZs) for the control plane's network interfaces and the nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two availability zones."
  }
}

variable "endpoint_public_access" {
  description = "Whether the Kubernetes API endpoint is reachable from the internet (restricted by endpoint_public_access_cidrs)."
  type        = bool
  default     = true
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public Kubernetes API endpoint."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "cluster_log_types" {
  description = "Control plane log types sent to CloudWatch Logs."
  type        = list(string)
  default     = ["api", "audit", "authenticator"]
}

variable "admin_principal_arns" {
  description = "IAM role or user ARNs given cluster-admin access through EKS access entries (the creator always has it)."
  type        = list(string)
  default     = []
}

variable "node_groups" {
  description = "Managed node groups, keyed by node group name."
  type = map(object({
    instance_types = list(string)
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size      = optional(number, 50)
    labels         = optional(map(string), {})
  }))

  validation {
    condition     = length(var.node_groups) > 0
    error_message = "At least one node group is needed: SrvThreds runs on managed nodes."
  }

  validation {
    condition = alltrue([
      for g in values(var.node_groups) : g.min_size <= g.desired_size && g.desired_size <= g.max_size
    ])
    error_message = "Each node group needs min_size <= desired_size <= max_size."
  }
}

variable "addon_versions" {
  description = "Pinned add-on versions by add-on name (vpc-cni, kube-proxy, coredns, aws-ebs-csi-driver); an add-on not listed gets the default version for the cluster's Kubernetes version."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

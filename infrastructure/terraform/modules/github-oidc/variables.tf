variable "create_provider" {
  description = "Create GitHub's OIDC identity provider in this account (true), or use an existing one (false): one per account, shared by the environments in it."
  type        = bool
  default     = true
}

variable "provider_arn" {
  description = "ARN of the existing provider when create_provider is false; null: the account's arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com."
  type        = string
  default     = null
}

variable "role_name" {
  description = "Name of the deploy role (<cluster>-github-deploy)."
  type        = string
}

variable "subjects" {
  description = "The `sub` claims allowed to assume the role, exactly: repo:OWNER/REPO:environment:NAME for a job in a GitHub environment, repo:OWNER/REPO:ref:refs/heads/BRANCH for a job without one."
  type        = list(string)

  validation {
    condition     = length(var.subjects) > 0 && alltrue([for s in var.subjects : startswith(s, "repo:") && !strcontains(s, "*")])
    error_message = "subjects must be one or more repo:OWNER/REPO:… claims, without wildcards."
  }
}

variable "max_session_duration" {
  description = "Longest session of the deploy role, in seconds (3600 to 43200)."
  type        = number
  default     = 3600
}

variable "ecr_repository_arns" {
  description = "ARNs of the ECR repositories the role may push to and pull from."
  type        = list(string)

  validation {
    condition     = length(var.ecr_repository_arns) > 0
    error_message = "At least one repository ARN is needed."
  }
}

variable "cluster_name" {
  description = "Name of the EKS cluster the role deploys to (its access entry)."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of the same cluster (eks:DescribeCluster)."
  type        = string
}

variable "namespaces" {
  description = "Kubernetes namespaces the role may change (the access policy's scope)."
  type        = list(string)

  validation {
    condition     = length(var.namespaces) > 0
    error_message = "At least one namespace is needed: the access is namespace-scoped."
  }
}

variable "cluster_access_policy" {
  description = "EKS access policy associated in those namespaces, by name (AmazonEKSEditPolicy: the Kubernetes `edit` role)."
  type        = string
  default     = "AmazonEKSEditPolicy"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# The environment's settings, passed through by the environment root. None has
# a default: the defaults an operator sees are the root's (environments/*/
# variables.tf), and a value a root forgets to pass is an error here instead
# of a silent second default (`cargo xtask cloud lint` reports it too).

variable "environment" {
  description = "Environment name: dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "region" {
  description = "AWS region of the cluster and of the managed services."
  type        = string
}

variable "cluster_name" {
  description = "Name of the EKS cluster, also used for the VPC, the Atlas project and cluster, the Redis Cloud subscription and the CloudAMQP instance."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the EKS cluster, e.g. \"1.31\"."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC (a /16)."
  type        = string
}

variable "az_count" {
  description = "Number of availability zones for the subnets and node groups."
  type        = number
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper) instead of one per AZ."
  type        = bool
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public Kubernetes API endpoint."
  type        = list(string)
}

variable "cluster_admin_principal_arns" {
  description = "IAM role or user ARNs given cluster-admin access besides the identity that creates the cluster."
  type        = list(string)
}

variable "node_groups" {
  description = "Managed node groups of the EKS cluster, keyed by name."
  type = map(object({
    instance_types = list(string)
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size      = optional(number, 50)
    labels         = optional(map(string), {})
  }))
}

variable "mongodb_instance_size" {
  description = "MongoDB Atlas instance size (M10 and up)."
  type        = string
}

variable "mongodb_node_count" {
  description = "Number of electable members of the Atlas replica set."
  type        = number
}

variable "mongodb_backup_enabled" {
  description = "Whether Atlas cloud backups are taken."
  type        = bool
}

variable "mongodb_termination_protection" {
  description = "Whether Atlas refuses to delete the cluster."
  type        = bool
}

variable "mongodb_private_endpoint" {
  description = "Reach Atlas through an AWS PrivateLink endpoint in the VPC."
  type        = bool
}

variable "mongodb_username" {
  description = "User name of the application's Atlas database user."
  type        = string
}

variable "redis_deployment_cidr" {
  description = "/24 CIDR block Redis Cloud deploys into; must not overlap vpc_cidr."
  type        = string
}

variable "redis_multiple_availability_zones" {
  description = "Spread the Redis Cloud database over several AZs."
  type        = bool
}

variable "redis_availability_zone_ids" {
  description = "AWS zone IDs (e.g. usw2-az1) for Redis Cloud; [] lets Redis Cloud choose."
  type        = list(string)
}

variable "redis_payment_method" {
  description = "How the Redis Cloud subscription is billed: credit-card or marketplace."
  type        = string
}

variable "redis_payment_card_type" {
  description = "Type of the Redis Cloud account's card to bill, when redis_payment_method is credit-card."
  type        = string
}

variable "redis_dataset_size_in_gb" {
  description = "Maximum dataset size of the Redis database in GB."
  type        = number
}

variable "redis_throughput_ops_per_second" {
  description = "Provisioned Redis throughput in operations per second."
  type        = number
}

variable "redis_replication" {
  description = "Keep a replica of the Redis database."
  type        = bool
}

variable "rabbitmq_plan" {
  description = "CloudAMQP plan of the RabbitMQ instance."
  type        = string
}

variable "rabbitmq_firewall" {
  description = "Restrict the CloudAMQP instance to the NAT addresses (dedicated plans only)."
  type        = bool
}

variable "kubernetes_namespace" {
  description = "Namespace of the app in the cluster (the overlays' `namespace:`); the deploy role may change objects in it only."
  type        = string
}

variable "ecr_repositories" {
  description = "ECR repositories, one per service image that `images push` pushes (not the builder image)."
  type        = list(string)
}

variable "create_ecr_repositories" {
  description = "Create the ECR repositories here (true), or refer to the ones another environment in the same account and region created (false)."
  type        = bool
}

variable "ecr_untagged_image_expiry_days" {
  description = "Days after its push an untagged image is expired from the ECR repositories."
  type        = number
}

variable "ecr_keep_tagged_images" {
  description = "Keep only the newest this many tagged images per ECR repository; null keeps them all."
  type        = number
}

variable "ecr_force_delete" {
  description = "Let Terraform delete ECR repositories that still hold images."
  type        = bool
}

variable "github_repository" {
  description = "GitHub repository (OWNER/REPO) whose Actions workflows may assume the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO."
  }
}

variable "github_build_refs" {
  description = "Git refs (refs/heads/main) whose jobs without a GitHub environment may assume the deploy role too, besides jobs in the environment named like this one."
  type        = list(string)

  validation {
    condition     = alltrue([for ref in var.github_build_refs : startswith(ref, "refs/")])
    error_message = "github_build_refs are full refs: refs/heads/BRANCH or refs/tags/TAG."
  }
}

variable "create_github_oidc_provider" {
  description = "Create GitHub's OIDC identity provider (true: one environment per AWS account), or use the existing one (false)."
  type        = bool
}

variable "github_oidc_provider_arn" {
  description = "ARN of the existing GitHub OIDC provider when create_github_oidc_provider is false; null: the account's token.actions.githubusercontent.com provider."
  type        = string
}

variable "tags" {
  description = "Tags added to every AWS resource (the roots also set them as the AWS provider's default tags)."
  type        = map(string)
}

# Secrets: the roots read them from TF_VAR_<name> environment variables (see
# ../../README.md). The provider credentials stay in the roots.

variable "atlas_org_id" {
  description = "MongoDB Atlas organisation ID (from TF_VAR_atlas_org_id)."
  type        = string
  sensitive   = true
}

variable "mongodb_password" {
  description = "Password of the application's Atlas database user (from TF_VAR_mongodb_password)."
  type        = string
  sensitive   = true
}

variable "redis_password" {
  description = "Password of the Redis Cloud database (from TF_VAR_redis_password)."
  type        = string
  sensitive   = true
}

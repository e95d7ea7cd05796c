# Non-secret settings: set in terraform.tfvars (every variable here without a
# default must be there).

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
  default     = ["0.0.0.0/0"]
}

variable "cluster_admin_principal_arns" {
  description = "IAM role or user ARNs given cluster-admin access besides the identity that creates the cluster."
  type        = list(string)
  default     = []
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
  default     = 3
}

variable "mongodb_backup_enabled" {
  description = "Whether Atlas cloud backups are taken."
  type        = bool
  default     = true
}

variable "mongodb_termination_protection" {
  description = "Whether Atlas refuses to delete the cluster."
  type        = bool
  default     = false
}

variable "mongodb_private_endpoint" {
  description = "Reach Atlas through an AWS PrivateLink endpoint in the VPC."
  type        = bool
  default     = false
}

variable "mongodb_username" {
  description = "User name of the application's Atlas database user."
  type        = string
  default     = "srvthreds-app"
}

variable "redis_deployment_cidr" {
  description = "/24 CIDR block Redis Cloud deploys into; must not overlap vpc_cidr."
  type        = string
}

variable "redis_multiple_availability_zones" {
  description = "Spread the Redis Cloud database over several AZs."
  type        = bool
  default     = false
}

variable "redis_availability_zone_ids" {
  description = "AWS zone IDs (e.g. usw2-az1) for Redis Cloud; [] lets Redis Cloud choose."
  type        = list(string)
  default     = []
}

variable "redis_payment_method" {
  description = "How the Redis Cloud subscription is billed: credit-card or marketplace."
  type        = string
  default     = "credit-card"
}

variable "redis_payment_card_type" {
  description = "Type of the Redis Cloud account's card to bill, when redis_payment_method is credit-card."
  type        = string
  default     = "Visa"
}

variable "redis_dataset_size_in_gb" {
  description = "Maximum dataset size of the Redis database in GB."
  type        = number
}

variable "redis_throughput_ops_per_second" {
  description = "Provisioned Redis throughput in operations per second."
  type        = number
  default     = 1000
}

variable "redis_replication" {
  description = "Keep a replica of the Redis database."
  type        = bool
  default     = true
}

variable "rabbitmq_plan" {
  description = "CloudAMQP plan of the RabbitMQ instance."
  type        = string
}

variable "rabbitmq_firewall" {
  description = "Restrict the CloudAMQP instance to the NAT addresses (dedicated plans only)."
  type        = bool
  default     = true
}

variable "kubernetes_namespace" {
  description = "Namespace of the app in the cluster (the overlays' `namespace:`); the deploy role may change objects in it only."
  type        = string
  default     = "srvthreds"
}

# ECR: one repository per service image `images push` pushes (the catalogue's
# build entry b_a_s without the builder image).
variable "ecr_repositories" {
  description = "ECR repositories, one per service image that `images push` pushes (not the builder image)."
  type        = list(string)
  default = [
    "srvthreds-bootstrap",
    "srvthreds-engine",
    "srvthreds-session-agent",
    "srvthreds-persistence-agent",
  ]
}

variable "create_ecr_repositories" {
  description = "Create the ECR repositories here (true), or refer to the ones another environment in the same account and region created (false). Exactly one environment per account creates them."
  type        = bool
}

variable "ecr_untagged_image_expiry_days" {
  description = "Days after its push an untagged image is expired from the ECR repositories."
  type        = number
  default     = 7
}

variable "ecr_keep_tagged_images" {
  description = "Keep only the newest this many tagged images per ECR repository; null keeps them all (the lifecycle policy does not know which tags a cluster still runs)."
  type        = number
  default     = null
}

variable "ecr_force_delete" {
  description = "Let Terraform delete ECR repositories that still hold images."
  type        = bool
  default     = false
}

# GitHub Actions: the deploy role of this environment.
variable "github_repository" {
  description = "GitHub repository (OWNER/REPO) whose Actions workflows may assume the deploy role."
  type        = string
}

variable "github_build_refs" {
  description = "Git refs whose jobs without a GitHub environment may also assume the deploy role (the build job that pushes the images); jobs in the GitHub environment named like this one always may."
  type        = list(string)
  default     = ["refs/heads/main"]
}

variable "create_github_oidc_provider" {
  description = "Create GitHub's OIDC identity provider (true), or use the existing one (false). IAM allows one per account: exactly one environment per account creates it."
  type        = bool
}

variable "github_oidc_provider_arn" {
  description = "ARN of the existing GitHub OIDC provider when create_github_oidc_provider is false; null: the account's token.actions.githubusercontent.com provider."
  type        = string
  default     = null
}

# Secrets: no defaults, never in a file. Set them as TF_VAR_<name> environment
# variables before plan/apply (see ../../README.md).

variable "atlas_org_id" {
  description = "MongoDB Atlas organisation ID (from TF_VAR_atlas_org_id)."
  type        = string
  sensitive   = true
}

variable "atlas_public_key" {
  description = "MongoDB Atlas API public key (from TF_VAR_atlas_public_key)."
  type        = string
  sensitive   = true
}

variable "atlas_private_key" {
  description = "MongoDB Atlas API private key (from TF_VAR_atlas_private_key)."
  type        = string
  sensitive   = true
}

variable "mongodb_password" {
  description = "Password of the application's Atlas database user (from TF_VAR_mongodb_password)."
  type        = string
  sensitive   = true
}

variable "rediscloud_api_key" {
  description = "Redis Cloud API account key (from TF_VAR_rediscloud_api_key)."
  type        = string
  sensitive   = true
}

variable "rediscloud_secret_key" {
  description = "Redis Cloud API user secret key (from TF_VAR_rediscloud_secret_key)."
  type        = string
  sensitive   = true
}

variable "redis_password" {
  description = "Password of the Redis Cloud database (from TF_VAR_redis_password)."
  type        = string
  sensitive   = true
}

variable "cloudamqp_api_key" {
  description = "CloudAMQP API key (from TF_VAR_cloudamqp_api_key)."
  type        = string
  sensitive   = true
}

variable "org_id" {
  description = "MongoDB Atlas organisation ID the project is created in."
  type        = string
  sensitive   = true
}

variable "project_name" {
  description = "Name of the Atlas project (srvthreds-<environment>)."
  type        = string
}

variable "cluster_name" {
  description = "Name of the Atlas cluster."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, staging, prod), used in tags and comments."
  type        = string
}

variable "region" {
  description = "AWS region of the cluster, e.g. us-west-2 (converted to Atlas's US_WEST_2)."
  type        = string
}

variable "instance_size" {
  description = "Atlas instance size of the electable nodes, e.g. M10 (dedicated tiers only: the cluster is an advanced cluster)."
  type        = string
}

variable "node_count" {
  description = "Number of electable replica-set members (3, 5 or 7)."
  type        = number
  default     = 3

  validation {
    condition     = contains([3, 5, 7], var.node_count)
    error_message = "A replica set needs 3, 5 or 7 electable members."
  }
}

variable "mongodb_version" {
  description = "MongoDB major version, e.g. \"7.0\"."
  type        = string
  default     = "7.0"
}

variable "backup_enabled" {
  description = "Whether Atlas cloud backups are taken."
  type        = bool
  default     = true
}

variable "termination_protection" {
  description = "Whether Atlas refuses to delete the cluster (turn off before a deliberate destroy)."
  type        = bool
  default     = false
}

variable "database_name" {
  description = "Database the application user may read and write."
  type        = string
  default     = "srvthreds"
}

variable "database_username" {
  description = "User name of the application's database user."
  type        = string
}

variable "database_password" {
  description = "Password of the application's database user."
  type        = string
  sensitive   = true
}

variable "allowed_cidrs" {
  description = "CIDR blocks on the project's IP access list (the NAT gateways' addresses as /32)."
  type        = list(string)
  default     = []
}

variable "enable_private_endpoint" {
  description = "Create an AWS PrivateLink endpoint to the cluster in the VPC (needs vpc_id, vpc_cidr_block and subnet_ids)."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "VPC for the PrivateLink endpoint (used when enable_private_endpoint is true)."
  type        = string
  default     = null
}

variable "vpc_cidr_block" {
  description = "CIDR block allowed to reach the PrivateLink endpoint."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets of the PrivateLink endpoint's network interfaces."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to the AWS resources of the private endpoint."
  type        = map(string)
  default     = {}
}

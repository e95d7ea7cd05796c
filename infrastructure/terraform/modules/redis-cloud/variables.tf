variable "subscription_name" {
  description = "Name of the Redis Cloud subscription (srvthreds-<environment>)."
  type        = string
}

variable "database_name" {
  description = "Name of the database in the subscription."
  type        = string
  default     = "srvthreds"
}

variable "region" {
  description = "AWS region of the subscription, e.g. us-west-2."
  type        = string
}

variable "deployment_cidr" {
  description = "/24 CIDR block Redis Cloud deploys into; must not overlap the VPC (it is peerable later)."
  type        = string
}

variable "multiple_availability_zones" {
  description = "Spread the database over several availability zones."
  type        = bool
  default     = false
}

variable "preferred_availability_zones" {
  description = "AWS zone IDs (e.g. usw2-az1) to deploy into; three when multiple_availability_zones is true, or [] to let Redis Cloud choose."
  type        = list(string)
  default     = []
}

variable "payment_method" {
  description = "How the subscription is billed: credit-card or marketplace."
  type        = string
  default     = "credit-card"

  validation {
    condition     = contains(["credit-card", "marketplace"], var.payment_method)
    error_message = "payment_method must be credit-card or marketplace."
  }
}

variable "payment_card_type" {
  description = "Type of the account's card to bill (Visa, Mastercard, ...), when payment_method is credit-card."
  type        = string
  default     = null
}

variable "payment_card_last_four" {
  description = "Last four digits of the card to bill, when the account has several of the same type."
  type        = string
  default     = null
}

variable "dataset_size_in_gb" {
  description = "Maximum dataset size of the database in GB."
  type        = number
}

variable "throughput_ops_per_second" {
  description = "Provisioned throughput of the database in operations per second."
  type        = number
  default     = 1000
}

variable "replication" {
  description = "Keep a replica of the database (high availability)."
  type        = bool
  default     = true
}

variable "data_persistence" {
  description = "Persistence of the database: none, aof-every-1-second, aof-every-write, snapshot-every-1-hour, ..."
  type        = string
  default     = "aof-every-1-second"
}

variable "enable_tls" {
  description = "Require TLS for client connections."
  type        = bool
  default     = true
}

variable "allowed_cidrs" {
  description = "Source addresses allowed to connect (the NAT gateways' addresses as /32); empty allows any."
  type        = list(string)
  default     = []
}

variable "database_password" {
  description = "Password of the database's default user."
  type        = string
  sensitive   = true
}

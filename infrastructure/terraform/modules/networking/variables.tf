variable "name" {
  description = "Prefix of the Name tag of every resource (usually the cluster name)."
  type        = string
}

variable "cluster_name" {
  description = "Name of the EKS cluster that uses this VPC; used in the kubernetes.io/cluster/<name> subnet tags."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC, e.g. 10.10.0.0/16."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread the subnets (and, unless single_nat_gateway, the NAT gateways) over."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6 (EKS needs subnets in at least two AZs)."
  }
}

variable "private_subnet_newbits" {
  description = "Bits added to the VPC prefix for each private subnet (4 turns a /16 into /20s)."
  type        = number
  default     = 4
}

variable "public_subnet_newbits" {
  description = "Bits added to the VPC prefix for each public subnet (8 turns a /16 into /24s, taken from the top of the range)."
  type        = number
  default     = 8
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for all AZs (cheaper) instead of one per AZ (highly available)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
